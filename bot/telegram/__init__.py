"""Telegram transports: python-telegram-bot and aiogram adapters over the framework-free core.

Only the `*_adapter` modules import a framework; the rest (journal pump, webhook receiver, rendering
rules, log redaction) is shared so both adapters behave the same.
"""
