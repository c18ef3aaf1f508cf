"""How a message is read: normalisation, sound-alikes, pinyin words and the segmenter's dictionary."""
