"""Every sentence the bot says to a person, in one place (kind, short, plain).

Sections follow the flows. Placeholders use str.format names.
"""

from __future__ import annotations

# ---- onboarding and help
INTRO = (
    "Hi, I'm Between. Therapy is one hour a week; the change happens in the other 167.\n\n"
    "Right after a session, send me a voice memo or one sentence: what landed, in your "
    "therapist's words if you can. That evening I'll ask you three questions so you can "
    "put it in your own words, and you pick the moment this week when I should bring it "
    "back to you.\n\n"
    "Voice memos are transcribed on this server; what you tell me stays here."
)
ASK_TIMEZONE = (
    "First, which time zone are you in? Tap one, or send a city (Berlin), "
    "a zone name (Europe/Berlin) or an offset (+2)."
)
BAD_TIMEZONE = (
    "I don't know that time zone. Try a city like Berlin, a name like Europe/Berlin, "
    "or an offset like +2."
)
TIMEZONE_SET = "Time zone set: {zone} (it's {local_time} there now)."
ASK_THERAPY = (
    "When is your therapy session? For example: tue 17:00 (every week), "
    "every other tue 17:00, or every 3 weeks on mon 9:00. "
    "I'll use it to offer the evening reflection on the right day. "
    "If the day changes each time, tap It varies: I'll ask for each next session."
)
BUTTON_VARIES = "It varies"
THERAPY_SKIPPED = "No fixed therapy day. You can set one any time with /settings."
ONBOARDED = (
    "You're set. After your next session, send me a voice memo or type the sentence "
    "that landed. /help shows everything I can do."
)
ONBOARDING_CANCELLED = "Okay, stopped here. Send /start whenever you like."
BUTTON_SKIP = "Skip"

HELP = (
    "Between in five steps:\n"
    "1. Right after a session, send a voice memo or one sentence: what landed, "
    "in your therapist's words if you can. During a session, /mark stamps a moment.\n"
    "2. That evening, /reflect: three questions, answered by voice or text. "
    "Your answers become one paragraph in your own words.\n"
    "3. Pick the moment it should come back: a time (thu 08:00 morning walk) "
    "or a situation (when my partner brings up money).\n"
    "4. When the moment comes, /recall (or one tap on 🔁 Recall, or /recall money) shows "
    "it in one message. A ping you can't take now: 💤 Later.\n"
    "5. Afterwards, tell me how it went. The day before your next session you get a "
    "short digest to bring into the room.\n\n"
    "Commands:\n"
    "{commands}"
)

# (command, description) pairs for setMyCommands and /help, in the order people need them
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Set up: time zone and therapy day"),
    ("mark", "Stamp a moment during a session"),
    ("reflect", "The three evening questions"),
    ("recall", "Bring back your paragraph (/recall money searches)"),
    ("trigger", "Pick a moment for it to come back"),
    ("triggers", "List, pause or delete your moments"),
    ("retry", "Retry memos that failed to transcribe"),
    ("session", "Your therapy sessions: next three, skip, move, set"),
    ("settings", "Time zone, therapy day, evening prompt and more"),
    ("export", "Download everything stored about you (/export pdf: a page to print)"),
    ("delete", "Delete everything stored about you"),
    ("help", "How Between works"),
    ("cancel", "Stop what we're doing"),
)

# ---- settings
SETTINGS_MENU = "Your settings:\n{summary}\n\nTap one to change it."
SETTINGS_DONE = "Saved."
SETTINGS_CLOSED = "Settings closed."
SETTINGS_ASK = "{prompt}\n(/cancel to keep it as it is)"
SETTING_BAD = "That didn't work: {reason}"
OFF = "off"
ON = "on"
NOT_SET = "not set"

# ---- capture (handlers/capture.py)
SESSION_LABEL = "{weekday} {day} {month}"  # Tue 24 Nov
SAVED_TO = "Saved to your {session} session."
CAPTURE_CARD = "{text}\n\n{saved}"
TRANSCRIBING = "Saved to your {session} session · transcribing…"
TRANSCRIBED_LATER = "Your memo from earlier is transcribed now:"
ECHO_CUT = "… (cut here; all {length} characters are saved)"
BUTTON_LAND = "★ This is what landed"
BUTTON_LANDED = "★ What landed ✓"
BUTTON_FIX = "✎ Fix"
BUTTON_ADD_NOTE = "✎ Add words"
BUTTON_DELETE = "🗑 Delete"
BUTTON_CONFIRM_DELETE = "Yes, delete it"
BUTTON_KEEP = "Keep it"
LANDED = "★ Marked as what landed today"
LANDED_NEEDS_WORDS = "There are no words in this one yet. Tap ✎ to type them first."
ASK_FIX = "Send the corrected text and it replaces what I have. (/cancel keeps it as it is)"
FIX_NEEDS_TEXT = "Please send the corrected text as a message, or /cancel."
FIXED = "Fixed."
FIX_CANCELLED = "Okay, I kept it as it was."
CONFIRM_DELETE = "Delete this for good? It can't be undone."
DELETED = "Deleted."
DELETE_KEPT = "Kept."
GONE = "That's no longer available."
MARKED = "Marked at {time} ({session} session). I'll list it in the evening reflection."
MARKED_NOTE = "Marked at {time}: {note}\nI'll list it in the evening reflection."
TOO_LONG = (
    "That memo is {minutes} min long, and I can transcribe up to {limit} min. "
    "Could you send the part that matters as a shorter memo, or type the sentence?"
)
TOO_BIG = (
    "That file is over 20 MB, more than Telegram lets a bot download. Please send a "
    "shorter memo or type the sentence. (Whoever runs this bot can lift the limit by "
    "running a local Bot API server.)"
)
UNDECODABLE = (
    "I couldn't read that as audio: the file seems broken or isn't a sound recording. "
    "Could you record it again as a voice memo, or type it?"
)
NO_SPEECH = (
    "I couldn't hear words in that memo; the audio is kept for 24 h if you want /retry. "
    "Or type what you meant."
)
DOWNLOAD_FAILED = (
    "I couldn't fetch that memo from Telegram just now. It's saved: I'll try again when I "
    "restart, or send /retry in a moment."
)
TRANSCRIBE_FAILED = (
    "Something went wrong while transcribing. The memo is saved; send /retry in a moment."
)
# a memo that could not be heard, by bot/voice.py's Failure (its error code)
CAPTURE_NOT_HEARD = {
    "too_long": TOO_LONG,
    "too_big": TOO_BIG,
    "undecodable": UNDECODABLE,
    "no_speech": NO_SPEECH,
    "download_failed": DOWNLOAD_FAILED,
    "transcribe_failed": TRANSCRIBE_FAILED,
}
RETRYING = "Trying {count} {memos} again…"
RETRY_BUSY = "I'm still working on your memo; the text comes as soon as it's ready."
NOTHING_TO_RETRY = "Nothing to retry: every memo you sent has its text."

# ---- reflection (handlers/reflection.py)
REFLECT_QUESTIONS = (
    "What was the thing?",
    "Why does it matter for how I actually live?",
    "What does the changed version of me do this week that I wouldn't have done last week?",
)
REFLECT_INTRO = (
    "Three questions, one at a time. Answer in your own words, by text or voice. "
    "/skip leaves one out, /back goes back, /cancel pauses (your answers are kept)."
)
REFLECT_QUESTION = "Question {number} of 3\n{question}"
REFLECT_SO_FAR = (
    "{question}\n\nYour answer so far: {answer}\nSend a new one to replace it, or tap Keep."
)
REFLECT_AGAIN = (
    "You already saved a reflection for this session. If you save a new one, "
    "I keep the earlier version too."
)
REFLECT_WELCOME_BACK = "Welcome back. We were at question {number}."
REFLECT_WELCOME_BACK_REVIEW = "Welcome back. Your paragraph was ready to look over."
REFLECT_FIRST = "This is the first question already."
REFLECT_HEARD = "I heard:\n\n{text}\n\nIs that right? Tap ✓ Yes, or type it as it should read."
REFLECT_TYPE_FIX = "Type the answer as it should read, and it replaces what I heard."
REFLECT_NO_WORDS = "I couldn't hear any words in that. Could you try again, or type your answer?"
REFLECT_UNDECODABLE = (
    "I couldn't play that as audio. Could you record it again, or type your answer?"
)
REFLECT_VOICE_TOO_LONG = (
    "That memo is longer than I can transcribe ({whole_minutes} min). Could you say it in a "
    "shorter one, or type it?"
)
REFLECT_VOICE_TOO_BIG = (
    "That file is over 20 MB, more than Telegram lets me fetch. Could you send a shorter "
    "memo, or type it?"
)
REFLECT_VOICE_FAILED = (
    "I couldn't transcribe that just now. Could you send it again in a moment, or type it?"
)
# a spoken answer that could not be heard, by bot/voice.py's Failure
REFLECT_NOT_HEARD = {
    "too_long": REFLECT_VOICE_TOO_LONG,
    "too_big": REFLECT_VOICE_TOO_BIG,
    "undecodable": REFLECT_UNDECODABLE,
    "no_speech": REFLECT_NO_WORDS,
    "download_failed": REFLECT_VOICE_FAILED,
    "transcribe_failed": REFLECT_VOICE_FAILED,
}
REFLECT_LISTENING = (
    "One moment, I'm still listening to your memo. Send that again once I've shown you "
    "what I heard."
)
REFLECT_REVIEW = "Here it is, in your own words:\n\n{paragraph}"
REFLECT_NOTHING = (
    "You left out all three questions, so there's nothing to put together yet. "
    "Tap a question to answer it, or /cancel."
)
REFLECT_REVIEW_HINT = "Tap ✓ Save, one of the Redo buttons, or ✎ Edit the whole."
REFLECT_ASK_EDIT = "Send the whole paragraph as it should read. (/back returns to the buttons.)"
REFLECT_TYPE_EDIT = "Please type the paragraph as a message. (/back returns to the buttons.)"
REFLECT_CARD = "{day}\n\n{paragraph}"
REFLECT_TRIGGER_OFFER = (
    "Saved. When should this come back to you this week? A time (like thu 08:00, "
    "morning walk) or a situation (like when my partner brings up money)."
)
REFLECT_PAUSED = "Paused. Your answers are kept; /reflect picks up at question {number}."
REFLECT_PAUSED_REVIEW = "Paused. Your answers are kept; /reflect brings back your paragraph."
REFLECT_GONE = "That reflection is no longer open. /reflect starts it again."
REFLECT_STALE = "That's no longer available."
BUTTON_YES = "✓ Yes"
BUTTON_FIX_ANSWER = "✎ Fix"
BUTTON_KEEP_ANSWER = "Keep"
BUTTON_SAVE = "✓ Save"
BUTTON_REDO = "Redo {number}"
BUTTON_EDIT_WHOLE = "✎ Edit the whole"
BUTTON_TRIGGER_TIME = "⏰ A time"
BUTTON_TRIGGER_SITUATION = "💬 A situation"
BUTTON_LATER = "Later"
# the evening prompt (bot/jobs/evening.py)
BUTTON_START = "Start"
EVENING_PROMPT = (
    "It's the evening after your session. Ready to put it in your own words? "
    "Three short questions.\n\n{cue}"
)
EVENING_NOTHING = "Nothing was captured today, and that's fine: the questions work from memory too."
CUE_LANDED = "What landed:\n{text}"
CUE_CAPTURES = "What you captured:\n{lines}"
CUE_ITEM = "• {text}"
CUE_MARKS = "Moments you marked ({count}): {stamps}"
CUE_NOTHING = (
    "Nothing was captured for this session, and that's fine. Start from what you remember."
)

# ---- triggers and recall (handlers/triggers.py, recall.py)
TRG_NEEDS_REFLECTION = (
    "There's no paragraph to bring back yet. Reflect first with /reflect, "
    "then pick the moment it should come back."
)
TRG_CHOOSE = "When should “{headline}” come back to you? A time, or a situation?"
TRG_BUTTON_TIME = "⏰ A time"
TRG_BUTTON_SITUATION = "💬 A situation"
TRG_ASK_TIME = (
    "When? Type it, like thu 08:00 morning walk, tomorrow 7pm or every weekday 8:30. "
    "Or tap a day. (/cancel to stop)"
)
TRG_ASK_HOUR = "{day}: at what time? Tap an hour, or type one like {example}."
TRG_ASK_SITUATION = (
    "What's the situation? Finish the sentence “When …”, for example: "
    "when my partner brings up money. (/cancel to stop)"
)
TRG_ASK_CHANGE_TIME = (
    "Send the new time, like thu 08:00 or every weekday 8:30, or tap a day. "
    "(/cancel keeps it as it is)"
)
TRG_ASK_CHANGE_SITUATION = (
    "Send the new situation, like: when my partner brings up money. (/cancel keeps it as it is)"
)
TRG_AS_SITUATION = (
    "That doesn't read like a time to me. Keep it as a situation?\n“{cue}”\n"
    "When it happens, /recall finds your paragraph by its words."
)
TRG_BUTTON_YES_SITUATION = "Yes, a situation"
TRG_BUTTON_NO_TIME = "No, I meant a time"
TRG_BUTTON_SITUATION_INSTEAD = "💬 A situation instead"
TRG_BUTTON_TOMORROW = "Tomorrow"
TRG_TIME_SET = "Set: {when}.\nI'll send you your paragraph then."
TRG_SITUATION_SET = (
    "Saved as a situation: “{cue}”.\n"
    "When it happens, send /recall {word} and your paragraph comes right back."
)
TRG_CHANGED = "Changed: {when}."
TRG_LATER = "Okay. Whenever you like, /trigger picks a moment for it."
TRG_CANCELLED = "Okay, no moment set. /trigger any time."
TRG_NO_WORDS = "I couldn't make out words in that. Could you type the situation?"
TRG_BUTTON_UNDO = "↩ Undo"
TRG_BUTTON_WEEKLY = "🔁 Every week instead"
TRG_UNDONE = "Okay, removed. /trigger picks another moment."
TRG_NOW_WEEKLY = "Now {when}."
TRG_LIST = "Your moments:\n\n{lines}"
TRG_LIST_EMPTY = "No moments set. /trigger picks one for your latest paragraph."
TRG_LIST_NEXT = "next: {when}"
TRG_LIST_PAUSED = "paused"
TRG_BUTTON_PAUSE = "{n} ⏸ Pause"
TRG_BUTTON_RESUME = "{n} ▶ Resume"
TRG_BUTTON_CHANGE = "{n} ✏ Change"
TRG_BUTTON_DELETE = "{n} 🗑 Delete"
TRG_PAUSED = "Paused."
TRG_RESUMED = "Resumed."
TRG_DELETED = "Deleted."
TRG_SPENT = "That one-off time has passed. Tap Change to pick a new one."
TRG_GONE = "That's no longer available."
TRG_TIME_ICON = "⏰"
TRG_SITUATION_ICON = "💬"
TRG_MISSED = (
    "I was offline when {count} of your moments came ({which}), so I didn't send "
    "{them}. /recall brings your paragraph back any time."
)
RECALL_NOTHING = (
    "Nothing to bring back yet. After your next session, /reflect turns what landed "
    "into a paragraph in your own words."
)
RECALL_NO_MATCH = (
    "I found nothing for “{query}” in what you wrote. /recall alone shows your latest paragraph."
)
RECALL_NO_HEADLINE = "Your paragraph"
RECALL_CARD = "<b>{headline}</b>\n\n{paragraph}{triggers}\n\n<i>Written {written}</i>{matches}"
RECALL_MATCHES = "\n<i>Best of {count} matches for “{query}”.</i>"
RECALL_CAPTURE_HIT = (
    "Found in what you captured on {written}:\n\n“{text}”\n\n"
    "There's no paragraph for that session yet."
)
RECALL_PING = "<b>{headline}</b>\n\n{paragraph}\n\n{trigger}"
RECALL_BUTTON_OLDER = "◀ older"
RECALL_BUTTON_NEWER = "newer ▶"
RECALL_BUTTON_HELPED = "It helped"
RECALL_BUTTON_NOT_HELPED = "Didn't help"
RECALL_BUTTON_NOT_TRIED = "Didn't get to it"
RECALL_BUTTON_READ = "I read it"
RECALL_CHOSEN = "✓ {label}"
RECALL_NOTED = "Noted."
FOLLOWUP_ASK = (
    "How did it go with “{headline}”? Tap one, or reply to this message with a few "
    "words or a voice memo."
)
FOLLOWUP_ANSWERED = (
    "How did it go with “{headline}”? {choice}.\n"
    "If you like, reply to this message with a few words about it."
)
FOLLOWUP_KEPT = "Kept with your paragraph. It goes into the digest before your next session."
FOLLOWUP_NO_WORDS = "I couldn't make out words in that. Could you type a few?"
# "Later" under a ping or the evening prompt (bot/jobs/snooze.py, handlers/snooze.py)
SNOOZE_BUTTON_20 = "💤 20 min"
SNOOZE_BUTTON_60 = "💤 1 h"
SNOOZE_BUTTON_TONIGHT = "💤 Tonight {time}"
SNOOZED = "💤 Okay, later. I'll send this again {when}."
SNOOZED_NOTE = "Back {when}."
SNOOZE_AT_TODAY = "at {time}"
SNOOZE_AT_DAY = "on {day} at {time}"
SNOOZE_NO_TONIGHT = (
    "Your evening time has passed for today (or the evening prompt is off): pick 20 min or 1 h."
)
SNOOZE_STALE = "That one is too old to snooze. /recall brings your paragraph back any time."
SNOOZE_WRITTEN = "You've already saved this session's paragraph, so there's nothing to snooze."
TRG_LIST_SNOOZED = "Coming back later:\n{lines}"
TRG_SNOOZED_PING = "💤 {what}: back {when}"
TRG_SNOOZED_EVENING = "💤 The evening questions: back {when}"
# the one-tap recall button under the message field (handlers/recall.py, /settings)
RECALL_KEY = "🔁 Recall"
RECALL_KEY_ON = (
    "The 🔁 Recall button is under the message field now: one tap brings your paragraph "
    "back, exactly like /recall. /settings turns it off."
)
RECALL_KEY_OFF = "The 🔁 Recall button is gone. /recall still brings your paragraph back."
DIGEST_HEAD = "Tomorrow is your session. Your week between, to bring into the room:"
DIGEST_HEAD_TODAY = "Your session is today. Your week between, to bring into the room:"
DIGEST_LANDED = "<b>What landed</b>\n“{text}”"
DIGEST_PARAGRAPH = "<b>Your paragraph</b>\n<b>{headline}</b>\n{paragraph}"
DIGEST_RECALLS = "You brought it back {count} {times}: {helped} helped, {not_helped} didn't."
DIGEST_NO_RECALLS = "It didn't come back to you this week. That's worth bringing in too."
DIGEST_OUTCOMES = "<b>How it went, in your words</b>\n{lines}"
DIGEST_OUTCOME_LINE = "• {day}: “{text}”"
DIGEST_FOOT = "Bring this into the room."
DIGEST_PDF_CAPTION = "The same week on one page, to print or open in the room."

# ---- the PDF page (bot/pdf.py): labels only; everything else on it is the person's words
PDF_DOCUMENT_TITLE = "Between"
PDF_TITLE_WEEK = "Your week between"
PDF_TITLE_SPAN = "Between, in your words"
PDF_SPAN = "{first} – {last}"
PDF_FOR_SESSION = "For your session on {day}"
PDF_LANDED = "What landed"
PDF_PARAGRAPH = "Your paragraph"
PDF_WRITTEN = "Written {day}"
PDF_MOMENTS = "Moments for it to come back"
PDF_MOMENT = "• {text}"
PDF_RECALLS = "When it came back, and how it went"
PDF_OTHER_RECALLS = "When something came back"
PDF_CAPTURED = "Captured"
PDF_HELPED = "it helped"
PDF_NOT_HELPED = "it didn't help"
PDF_MARKED = "marked"
PDF_QUOTE = "“{text}”"
PDF_MORE = "… and {count} more"
PDF_MORE_PARAGRAPHS = "… and {count} more paragraphs (/export pdf has them all)"
PDF_EMPTY = "Nothing was captured, reflected or recalled in these days."
PDF_FOOTER = "{span} · page {page} of {pages}"

# ---- privacy and data rights (handlers/privacy.py, handlers/flood.py, bot/jobs/tidy.py)
EXPORT_NOTHING = "I don't have anything stored about you."
EXPORT_INTRO = (
    "Here is everything I store about you: one file to read, one complete file "
    "(JSON) for other tools. They now sit in this chat too, so delete them here "
    "once you've saved them."
)
EXPORT_CAPTION_READABLE = "Readable: your sessions, words, reflections and moments."
EXPORT_CAPTION_COMPLETE = "Complete: every stored row, as JSON."
EXPORT_FAILED = (
    "I couldn't send the export just now. Nothing changed; try /export again in a moment."
)
EXPORT_PDF_HELP = (
    "For a PDF of some days, send /export pdf with the first and last day, like "
    "/export pdf 2026-11-01 2026-11-30 or /export pdf 1 nov 30 nov. Without dates it covers "
    "the last four weeks; with one date, from that day until today."
)
EXPORT_PDF_NOTHING = (
    "Nothing was captured, reflected or recalled from {first} to {last}, so there is no "
    "page to make."
)
EXPORT_PDF_CAPTION = "Your words from {first} to {last}, to print or open in the room."
EXPORT_PDF_FAILED = (
    "I couldn't send the PDF just now. Nothing changed; try /export pdf again in a moment."
)
DELETE_CONFIRM = (
    "Delete everything? This can't be undone.\n\n"
    "This removes your captures, reflections, moments, recalls, kept audio and settings "
    "from this bot. /export first if you want a copy. Messages already in this chat stay "
    "in Telegram until you delete the chat."
)
BUTTON_DELETE_EVERYTHING = "Yes, delete everything"
BUTTON_CANCEL = "Cancel"
DELETE_CANCELLED = "Okay, nothing was deleted."
DELETE_DONE = "Everything is deleted. /start begins again."
DELETE_FAILED = "Something went wrong, so nothing was deleted. Please try /delete again."
STALE_BUTTON = "That's no longer available."
SLOW_DOWN = (
    "That's a lot of messages at once, so I'll ask you to slow down a little. "
    "Everything you send is still kept."
)

# ---- general
ERROR = (
    "Something went wrong on my side. What you sent is saved; "
    "please try that step again in a moment."
)
PRIVATE_ONLY = (
    "I only work in a private chat, because what you tell me is personal. Message me directly."
)
NOT_ALLOWED = "Sorry, this Between bot is private."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
NOTHING_TO_CANCEL = "Nothing to cancel."
UNSUPPORTED_MESSAGE = (
    "I can keep voice memos, audio and text. Send what landed as a voice memo or a sentence."
)

# ---- what a conversation does with a message that is not its answer (handlers/asking.py)
KEPT_INSTEAD = "That didn't read as an answer, so I kept it as a note for your session (above)."
NOT_WORDS = "I can keep text and voice memos, not this kind of message."
REFLECT_KEPT_LONG = (
    "That's longer than an answer can be here ({length} characters; up to {limit}), so I "
    "kept it whole as a note for your session (above)."
)
REFLECT_KEPT_WHILE_LISTENING = (
    "I kept that as a note for your session (above). I'm still listening to your memo."
)

# ---- edited messages (handlers/edits.py)
EDIT_ANSWER_CHANGED = "Changed your answer to question {number}."
EDIT_ANSWER_SAVED = (
    "That answer is already part of a saved paragraph, so the edit changes nothing. "
    "/reflect to write it again."
)
EDIT_NOT_APPLIED = (
    "I saw the edit, but that message was already answered, so it changes nothing. "
    "Send it again as a new message if it matters."
)

# ---- moments people type: what the parsers answer, and how a moment reads back
# (bot/zones.py, bot/timespec.py)
TIMEZONE_HELP = BAD_TIMEZONE
TRIGGER_HELP = (
    "I didn't understand that time. Try: thu 08:00 morning walk, tomorrow 7pm, "
    "or every weekday 8:30."
)
PASSED_HELP = (
    "That time has already passed. Try: thu 08:00 morning walk, tomorrow 7pm, "
    "or every weekday 8:30."
)
WEEKDAY_TIME_HELP = "I didn't catch that. Send a day and a time, like tue 17:00."
SCHEDULE_HELP = (
    "I didn't catch that. Try: tue 17:00 (every week), every other tue 17:00, "
    "every 3 weeks on mon 9:00, irregular, next wed 18:00, no session next week, "
    "or moved to thu 9:00."
)
SCHEDULE_PAST = "That time has already passed. Send one that is still ahead."
SCHEDULE_NOTHING_AHEAD = "There is no session ahead to change. Send the next one, like wed 18:00."
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SCHEDULE_EVERY = {
    1: "Therapy: every {day} at {time}.",
    2: "Therapy: every other {day} at {time}.",
}
SCHEDULE_EVERY_N = "Therapy: every {n} weeks on {day} at {time}."
SCHEDULE_IRREGULAR = "Therapy: no fixed day (you tell me each next session)."
SCHEDULE_NONE = "Therapy: not set."
SCHEDULE_NEXT = "Next sessions:"
SCHEDULE_NO_NEXT = "No session planned yet. Send the next one, like: next wed 18:00."
SESSION_HELP = (
    "To change it: /session every other tue 17:00, /session no session next week, "
    "/session moved to thu 9:00, /session next wed 18:00, or /session irregular."
)
ASK_NEXT_SESSION = "When is your next session? Like: wed 18:00, or 14 dec 10:00."
NOT_SURE_YET = "Not sure yet"
NEXT_SESSION_LATER = "OK. Send it any time with /session, like /session wed 18:00."
IRREGULAR_SHORT = "no fixed day"
NONE_PLANNED = "none planned"
ASK_SCHEDULE_SETTING = (
    "Send your sessions like tue 17:00, every other tue 17:00, every 3 weeks on mon 9:00, "
    "or irregular. For one session: no session next week, moved to thu 9:00, or next wed "
    "18:00. Or off."
)
SCHEDULE_ONE_HELP = "That reads as a repeating time. Send one date and time, like wed 18:00."
CLOCK_HELP = "I didn't catch that time. Send it like 20:30 or 8pm."
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MOMENT_ONCE = "{day}, {time} {place} time{label}"  # "Thursday 26 Nov, 08:00 Berlin time"
MOMENT_EVERY = "every {days} at {time} ({place} time){label}"  # "every weekday at 08:30 (...)"
MOMENT_EVERY_DAY = "day"
MOMENT_EVERY_WEEKDAY = "weekday"
MOMENT_LABEL = " \u2014 {label}"
