"""Reactions to the messages the bot sent: counted per item (`ReachService`), answered with
nothing. Private chats and groups send each person's old and new reactions
(`message_reaction`, when the bot is an administrator in a group); channels send the message's
new totals, anonymously (`message_reaction_count`)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext


async def on_reaction(update: Update, context: BotContext) -> None:
    reach = context.services.reach
    change = update.message_reaction
    if change is not None:
        await reach.reacted(
            change.chat.id,
            change.message_id,
            old=len(change.old_reaction),
            new=len(change.new_reaction),
        )
        return
    counts = update.message_reaction_count
    if counts is not None:
        total = sum(reaction.total_count for reaction in counts.reactions)
        await reach.reaction_count(counts.chat.id, counts.message_id, total)
