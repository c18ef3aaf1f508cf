"""The bot's messages: sendMessage, sendPhoto, sendDocument, sendChatAction, edits, and answers to button presses.

Each success is recorded (:class:`BotMessage`, :class:`EditRecord`, :class:`CallbackAnswer`) for tests to
wait on; refusals use Telegram's own descriptions, so the frameworks' error mapping is exercised for real.
"""

from __future__ import annotations

import time
from typing import Any

from tools.emulator.core import EmulatorCore
from tools.emulator.records import BotMessage, CallbackAnswer, EditRecord
from tools.emulator.state import BotState, Chat, bot_command_entities, strip_reply
from tools.emulator.wire import ApiError, Params, Upload, bad_request, image_size

__all__ = ["MessageMethods"]

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def _validate_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def _add_caption(content: dict[str, Any], p: Params) -> None:
    caption = p.string("caption")
    if caption:
        if len(caption) > 1024:
            raise bad_request("message caption is too long")
        content["caption"] = caption


class MessageMethods(EmulatorCore):
    """sendMessage, sendPhoto, sendDocument, sendChatAction, editMessageText/ReplyMarkup, answerCallbackQuery."""

    def _reply_target(self, bot: BotState, chat: Chat, p: Params) -> dict[str, Any] | None:
        params = p.object("reply_parameters")
        if params is None and "reply_to_message_id" in p:
            params = {
                "message_id": p.integer("reply_to_message_id"),
                "allow_sending_without_reply": p.flag("allow_sending_without_reply"),
            }
        if not params:
            return None
        target_chat = chat
        if params.get("chat_id") is not None:
            target_chat = self._target_chat(bot, Params({"chat_id": params["chat_id"]}))
        replied = target_chat.messages.get(int(params.get("message_id", 0)))
        if replied is None:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return strip_reply(replied)

    def _bot_message(
        self, bot: BotState, method: str, chat: Chat, p: Params, content: dict[str, Any]
    ) -> dict[str, Any]:
        markup = _validate_markup(p.object("reply_markup"))
        reply_to = self._reply_target(bot, chat, p)
        message: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": bot.user,
            "chat": dict(chat.obj),
            "date": int(time.time()),
        }
        chat.next_message_id += 1
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if markup and "inline_keyboard" in markup:  # only inline keyboards come back in the Message
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        photo = content.get("photo")
        self.messages.append(
            BotMessage(
                seq=self._next_seq(),
                time=time.monotonic(),
                bot_id=bot.id,
                method=method,
                chat_id=chat.id,
                message_id=message["message_id"],
                text=content.get("text"),
                caption=content.get("caption"),
                reply_markup=markup,
                reply_to_message_id=reply_to["message_id"] if reply_to else None,
                photo=photo[-1]["file_id"] if photo else None,
                raw=message,
                document=content["document"]["file_id"] if "document" in content else None,
            )
        )
        return message

    def _m_sendMessage(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        text = p.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        content: dict[str, Any] = {"text": text}
        if entities := bot_command_entities(text):
            content["entities"] = entities
        return self._bot_message(bot, "sendMessage", chat, p, content)

    def _m_sendPhoto(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat = self._target_chat(bot, p)
        photo = p.file("photo")
        if isinstance(photo, Upload):
            sizes = self._photo_sizes(photo.data)
        elif not photo:
            raise bad_request("there is no photo in the request")
        elif photo in self.files:
            stored = self.files[photo]
            width, height = image_size(stored.data)
            sizes = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": width,
                    "height": height,
                }
            ]
        elif photo.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the emulator never fetches URLs
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        content: dict[str, Any] = {"photo": sizes}
        _add_caption(content, p)
        return self._bot_message(bot, "sendPhoto", chat, p, content)

    def _m_sendDocument(self, bot: BotState, p: Params) -> dict[str, Any]:
        """A file upload (multipart) or a known file_id; the bytes are kept for tests and getFile."""
        chat = self._target_chat(bot, p)
        document = p.file("document")
        if isinstance(document, Upload):
            if not document.data:
                raise bad_request("file must be non-empty")
            if len(document.data) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            suffix = document.filename.rsplit(".", 1)[-1] if "." in document.filename else "bin"
            stored = self._store_file(document.data, "documents", suffix[:8])
            name, mime = document.filename, document.content_type
        elif document and document in self.files:
            stored = self.files[document]
            name, mime = stored.path.rsplit("/", 1)[-1], "application/octet-stream"
        elif not document:
            raise bad_request("there is no document in the request")
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        content: dict[str, Any] = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": name,
                "mime_type": mime or "application/octet-stream",
                "file_size": len(stored.data),
            }
        }
        _add_caption(content, p)
        return self._bot_message(bot, "sendDocument", chat, p, content)

    def _m_sendChatAction(self, bot: BotState, p: Params) -> bool:
        self._target_chat(bot, p)
        if p.string("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # ----------------------------------------------------------------------------- edits

    def _editable(self, bot: BotState, p: Params) -> tuple[Chat, dict[str, Any]]:
        if p.string("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._target_chat(bot, p)
        message = chat.messages.get(p.require_int("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != bot.id:
            raise bad_request("message can't be edited")
        return chat, message

    def _record_edit(self, bot: BotState, method: str, chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
        message["edit_date"] = int(time.time())
        self.edits.append(
            EditRecord(
                seq=self._next_seq(),
                time=time.monotonic(),
                bot_id=bot.id,
                method=method,
                chat_id=chat.id,
                message_id=message["message_id"],
                text=message.get("text"),
                reply_markup=message.get("reply_markup"),
                raw=dict(message),
            )
        )
        return message

    def _m_editMessageText(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat, message = self._editable(bot, p)
        text = p.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        markup = _validate_markup(p.object("reply_markup"))
        if message["text"] == text and message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        if entities := bot_command_entities(text):
            message["entities"] = entities
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._record_edit(bot, "editMessageText", chat, message)

    def _m_editMessageReplyMarkup(self, bot: BotState, p: Params) -> dict[str, Any]:
        chat, message = self._editable(bot, p)
        markup = _validate_markup(p.object("reply_markup"))
        if message.get("reply_markup") == markup or (not markup and "reply_markup" not in message):
            raise bad_request(_NOT_MODIFIED)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._record_edit(bot, "editMessageReplyMarkup", chat, message)

    # ----------------------------------------------------------------------------- button presses

    def _m_answerCallbackQuery(self, bot: BotState, p: Params) -> bool:
        query_id = p.require_str("callback_query_id")
        query = bot.callback_queries.get(query_id)
        if query is None or query.get("_answered"):
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        query["_answered"] = True  # private marker; the update already left
        text = p.string("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(
                self._next_seq(),
                time.monotonic(),
                bot.id,
                query_id,
                text,
                p.flag("show_alert"),
                p.string("url"),
            )
        )
        return True
