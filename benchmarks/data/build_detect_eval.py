"""Builds benchmarks/data/detect_eval.jsonl: the hand-labelled evaluation set of `rapportd detect`.

Every body below was written by hand, with its gold items (kind, due date resolved by a person
against the anchor's send time and zone), BEFORE the detection rules were written. The builder
wraps each body in a deterministic, varied envelope: greeting, sign-off, signature blocks (with
phone numbers, dates, imperatives), mobile footers, legal disclaimers, and quoted history that
itself contains promises and requests (which must NOT be detected). Gold items only ever come
from the new text.

Split: a seeded shuffle puts half the emails in "dev" (looked at while building the detector;
its sentences are also training data of the intent model) and half in "heldout" (only scored).
"fresh" (60) was written after the rules were frozen; "fresh2" (80, ids g001-g080) was written by
the second detector author before the intent model was built or anything was tuned, and scored
once at the end. New rows are appended, so earlier rows keep their envelopes.
Run: .venv/bin/python benchmarks/data/build_detect_eval.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# anchor -> (sent_at ISO 8601, IANA zone). Local days noted for the labeller.
ANCHORS = {
    "A": ("2024-03-13T10:15:00-04:00", "America/New_York"),  # Wed 13 Mar 2024
    "B": ("2024-06-07T16:40:00+01:00", "Europe/London"),  # Fri 7 Jun 2024
    "C": (
        "2024-11-25T08:05:00-08:00",
        "America/Los_Angeles",
    ),  # Mon 25 Nov 2024 (Thanksgiving 28th)
    "D": ("2024-01-11T16:30:00+00:00", "Asia/Tokyo"),  # local Fri 12 Jan 2024 01:30
    "E": ("2024-09-03T13:00:00+02:00", "Europe/Berlin"),  # Tue 3 Sep 2024
    "F": ("2024-12-19T15:20:00+00:00", "UTC"),  # Thu 19 Dec 2024
    "G": ("2024-05-18T10:00:00+10:00", "Australia/Sydney"),  # Sat 18 May 2024
    "H": ("2024-02-29T17:55:00-06:00", "America/Chicago"),  # Thu 29 Feb 2024
}

C, R = "commitment", "request"

# (anchor, body, [(kind, due)])
BODIES: list[tuple[str, str, list[tuple[str, str | None]]]] = [
    # ---- A: Wed 2024-03-13, New York
    (
        "A",
        "Thanks for the call this morning. I'll send over the revised deck by Friday.",
        [(C, "2024-03-15")],
    ),
    ("A", "Could you send me the signed NDA by tomorrow?", [(R, "2024-03-14")]),
    ("A", "If the budget gets approved, I'll book the venue next week.", []),
    ("A", "I sent the invoice yesterday, let me know if it didn't arrive.", []),
    ("A", "I'll try to get the numbers to you by end of day, but no promises.", []),
    ("A", "Unfortunately I won't be able to review the draft this week.", []),
    ("A", "Can you please confirm the headcount for the offsite by Monday?", [(R, "2024-03-18")]),
    ("A", "We will have the updated pricing to you within 48 hours.", [(C, "2024-03-15")]),
    ("A", "Would you mind looping in Priya from legal?", [(R, None)]),
    ("A", "Marco said he'd send the contract by Thursday.", []),
    ("A", "How was the conference? Hope Austin treated you well.", []),
    (
        "A",
        "I will get back to you on the staffing question by end of next week.",
        [(C, "2024-03-22")],
    ),
    ("A", "Please review the attached SOW and send comments before Thursday.", [(R, "2024-03-14")]),
    ("A", "Let me check with finance and I'll circle back tomorrow morning.", [(C, "2024-03-14")]),
    ("A", "I might be able to swing by the office on Friday.", []),
    ("A", "Can you share the Q1 forecast with me by the 20th?", [(R, "2024-03-20")]),
    ("A", "I'll have the redlines back to you in two weeks.", [(C, "2024-03-27")]),
    ("A", "Our team will deliver the final report by March 29.", [(C, "2024-03-29")]),
    ("A", "I would have sent it earlier but the server was down.", []),
    ("A", "Happy to help if you need anything else.", []),
    ("A", "Please let me know by Monday whether you can attend.", [(R, "2024-03-18")]),
    ("A", "I'll call you at 3pm today to go through the numbers.", [(C, "2024-03-13")]),
    ("A", "Sorry, I can't commit to the Tuesday deadline.", []),
    (
        "A",
        "Action items:\n- Send final agenda (me, by Fri)\n- Book room (Jen)\n- Confirm catering (you, by Monday)",
        [(C, "2024-03-15"), (R, "2024-03-18")],
    ),
    ("A", "As promised, here is the spreadsheet with the Q4 actuals.", []),
    ("A", "I'll be out of the office until the 18th.", []),
    ("A", "Can you believe it's already March?", []),
    ("A", "Would it be possible to move our sync to Thursday afternoon?", [(R, "2024-03-14")]),
    ("A", "I will send the W-9 over this afternoon.", [(C, "2024-03-13")]),
    ("A", "We'll follow up with a formal quote EOD tomorrow.", [(C, "2024-03-14")]),
    ("A", "Jess will take care of the travel bookings.", []),
    ("A", "Send me your availability for next week when you get a chance.", [(R, None)]),
    ("A", "I promise to keep this short: the launch moved to April 2.", []),
    (
        "A",
        "I'm going to draft the press release tonight and share it first thing tomorrow.",
        [(C, "2024-03-14")],
    ),
    ("A", "Do you know if the parking garage validates?", [(R, None)]),
    (
        "A",
        "If you could get me the logo files by Friday, that would be great.",
        [(R, "2024-03-15")],
    ),
    (
        "A",
        "I'll ask Diane whether there is budget left and let you know by Tuesday.",
        [(C, "2024-03-19")],
    ),
    ("A", "Thanks again for dinner last night!", []),
    ("A", "Please don't hesitate to reach out with any questions.", []),
    ("A", "Could you remind me what the login for the portal is?", [(R, None)]),
    ("A", "I was going to send the slides but Tom beat me to it.", []),
    ("A", "I will make sure the payment goes out by the 15th.", [(C, "2024-03-15")]),
    ("A", "We should grab coffee sometime.", []),
    ("A", "Let me know what you think of the new layout.", [(R, None)]),
    ("A", "I have already forwarded your CV to the hiring manager.", []),
    # ---- B: Fri 2024-06-07, London
    ("B", "I'll get the revised contract over to you on Monday.", [(C, "2024-06-10")]),
    ("B", "Can you send me the final headcount by Wednesday?", [(R, "2024-06-12")]),
    (
        "B",
        "I'll have a look at it over the weekend and come back to you Monday morning.",
        [(C, "2024-06-10")],
    ),
    ("B", "Would you be able to join a call on Tuesday at 10?", [(R, "2024-06-11")]),
    ("B", "We won't be able to deliver the samples before the end of the month, I'm afraid.", []),
    ("B", "I'd love to help, but I'm fully booked until July.", []),
    ("B", "Please could you sign and return the attached by 14 June?", [(R, "2024-06-14")]),
    ("B", "I will send you the minutes by end of day.", [(C, "2024-06-07")]),
    ("B", "I'll chase the courier and let you know once it's dispatched.", [(C, None)]),
    ("B", "Shall we say 2pm on Thursday for the handover?", [(R, "2024-06-13")]),
    ("B", "Fingers crossed the weather holds for Saturday!", []),
    ("B", "If I hear anything from the landlord, I'll let you know.", []),
    ("B", "Sarah's team will circulate the agenda next week.", []),
    ("B", "I'll send the board pack by end of next week.", [(C, "2024-06-14")]),
    ("B", "I've attached the invoice for May.", []),
    ("B", "Kindly arrange for the keys to be left at reception.", [(R, None)]),
    ("B", "I'll pop the cheque in the post tomorrow.", [(C, "2024-06-08")]),
    ("B", "Any chance you could cover my shift on the 15th?", [(R, "2024-06-15")]),
    ("B", "It would be great if you could send over the floor plan.", [(R, None)]),
    ("B", "I'm not going to make the Thursday deadline, sorry.", []),
    ("B", "We'll be in touch within 5 working days with a decision.", [(C, "2024-06-14")]),
    ("B", "I hope you had a lovely holiday.", []),
    ("B", "I'll ring you after lunch.", [(C, "2024-06-07")]),
    ("B", "Do let me know if you need anything else from me.", []),
    ("B", "Please send the updated figures to Anna, not me.", [(R, None)]),
    ("B", "I think I can probably get it done by Tuesday, but don't hold me to it.", []),
    ("B", "Could you let me know your dietary requirements by the 12th?", [(R, "2024-06-12")]),
    ("B", "I'll be at the conference all next week.", []),
    ("B", "I'll book the table for eight people for Saturday evening.", [(C, "2024-06-08")]),
    ("B", "We've already paid the deposit.", []),
    ("B", "I'll forward the tracking number as soon as I have it.", [(C, None)]),
    ("B", "What time does the venue open for setup?", [(R, None)]),
    (
        "B",
        "Would you mind proofreading the abstract before I submit it on Tuesday?",
        [(R, "2024-06-11")],
    ),
    ("B", "Would love to catch up properly when things calm down.", []),
    ("B", "I'll get you an answer within 24 hours.", [(C, "2024-06-08")]),
    ("B", "The office will be closed on Monday 10 June for maintenance.", []),
    ("B", "Send me the deck tonight and I'll review it on the train.", [(R, "2024-06-07")]),
    (
        "B",
        "Please make sure everyone has completed the safety training by 30 June.",
        [(R, "2024-06-30")],
    ),
    ("B", "No need to reply to this one.", []),
    (
        "B",
        "I'll draft a response to the auditors and share it with you early next week.",
        [(C, "2024-06-11")],
    ),
    ("B", "I'm sending the brochure by post today.", [(C, "2024-06-07")]),
    ("B", "Thanks for sending the photos through.", []),
    ("B", "We'll need the signed forms back by Friday 21 June at the latest.", [(R, "2024-06-21")]),
    ("B", "I was hoping you could introduce me to your CFO.", [(R, None)]),
    ("B", "Many thanks, and have a great weekend!", []),
    # ---- C: Mon 2024-11-25, Los Angeles
    ("C", "I'll send the holiday schedule by Wednesday.", [(C, "2024-11-27")]),
    ("C", "Can you approve the PTO request before Thanksgiving?", [(R, "2024-11-28")]),
    ("C", "We will ship the replacement unit within 3 business days.", [(C, "2024-11-29")]),
    ("C", "I'll follow up next Monday once I've talked to the vendor.", [(C, "2024-12-02")]),
    ("C", "If you need the room, I can move my 1:1.", []),
    ("C", "Please submit your expense reports by the 3rd.", [(R, "2024-12-03")]),
    ("C", "Let me know if there's anything I can do.", []),
    ("C", "I'm planning to finish the migration by the end of the month.", [(C, "2024-11-30")]),
    ("C", "Could you ping me when the build is green?", [(R, None)]),
    ("C", "I'll try my best to make it to the happy hour.", []),
    ("C", "Rachel promised to have the designs ready tomorrow.", []),
    ("C", "Quick question: are we still on for lunch Tuesday?", [(R, "2024-11-26")]),
    ("C", "I'll bring the projector to Tuesday's workshop.", [(C, "2024-11-26")]),
    ("C", "Hope you and the family have a wonderful Thanksgiving!", []),
    ("C", "I've pushed the fix to staging; it should be live by tomorrow.", []),
    ("C", "Please review PR #482 when you have a moment.", [(R, None)]),
    ("C", "I'll circle back after the holiday with next steps.", [(C, None)]),
    ("C", "Would you mind taking notes in tomorrow's standup?", [(R, "2024-11-26")]),
    ("C", "I won't be sending the newsletter this week.", []),
    ("C", "We'll have the signed lease to you by Friday.", [(C, "2024-11-29")]),
    ("C", "Can you make sure Dev gets access to the repo today?", [(R, "2024-11-25")]),
    ("C", "Did you end up going to the game on Saturday?", []),
    ("C", "I'll be working from home tomorrow.", []),
    (
        "C",
        "Let me pull the numbers together and send them over by end of next week.",
        [(C, "2024-12-06")],
    ),
    ("C", "Feel free to forward this to anyone who might be interested.", []),
    ("C", "Please RSVP by December 2.", [(R, "2024-12-02")]),
    ("C", "We need the revised budget from your team by EOD Wednesday.", [(R, "2024-11-27")]),
    ("C", "I'll reach out to the recruiter and set up intros this week.", [(C, "2024-11-29")]),
    ("C", "Maybe we could revisit this in January?", []),
    ("C", "I'll send you the recording as soon as the upload finishes.", [(C, None)]),
    ("C", "Just checking in - any update on the vendor contract?", [(R, None)]),
    ("C", "I'm sure Mike will sort it out.", []),
    ("C", "Can we push the review to next week?", [(R, "2024-12-06")]),
    ("C", "Happy to jump on a call if that's easier.", []),
    (
        "C",
        "I will personally make sure the refund is processed within 10 days.",
        [(C, "2024-12-05")],
    ),
    ("C", "Please do not reply to this automated message.", []),
    ("C", "Can you believe how fast this year went?", []),
    ("C", "I'll get Nina the laptop before her start date on Dec 9.", [(C, "2024-12-09")]),
    (
        "C",
        "Could you double-check the shipping address and confirm by tomorrow morning?",
        [(R, "2024-11-26")],
    ),
    ("C", "We're going to roll out the new pricing on January 1.", [(C, "2025-01-01")]),
    ("C", "Thanks for the quick turnaround on this.", []),
    ("C", "I'll update the ticket once I hear back from QA.", [(C, None)]),
    ("C", "Send me a calendar invite for whenever works.", [(R, None)]),
    # ---- D: local Fri 2024-01-12 01:30, Tokyo
    ("D", "I'll send the translated manual tomorrow.", [(C, "2024-01-13")]),
    ("D", "Could you check the shipment status by Monday?", [(R, "2024-01-15")]),
    ("D", "Sorry for the late email. I will reply properly in the morning.", [(C, "2024-01-12")]),
    ("D", "We will deliver the prototype by the 20th.", [(C, "2024-01-20")]),
    ("D", "Please confirm receipt of the purchase order.", [(R, None)]),
    ("D", "Tanaka-san will contact you regarding the invoice.", []),
    ("D", "I'll upload the files before I leave today.", [(C, "2024-01-12")]),
    ("D", "Can you send me the meeting notes from Thursday?", [(R, None)]),
    ("D", "I'll be in Osaka next week, so replies may be slow.", []),
    ("D", "I will finish the review by end of next week.", [(C, "2024-01-19")]),
    ("D", "Please let me know your flight number so we can arrange pickup.", [(R, None)]),
    ("D", "We're hoping to finalise the specs sometime in February.", []),
    ("D", "Could you share the test results within 2 days?", [(R, "2024-01-14")]),
    ("D", "I didn't get a chance to call the supplier today.", []),
    ("D", "I will call the supplier first thing Monday.", [(C, "2024-01-15")]),
    ("D", "Would you kindly resend the attachment? It seems to be corrupted.", [(R, None)]),
    ("D", "Thank you for your hospitality during our visit.", []),
    ("D", "Please find attached the quotation for your reference.", []),
    ("D", "Let's aim to have the contract signed by end of month, if possible.", []),
    ("D", "I'll courier the samples to your Tokyo office by Wednesday.", [(C, "2024-01-17")]),
    ("D", "Kindly revert with your comments at the earliest.", [(R, None)]),
    ("D", "I can send the drawings today if you still need them.", []),
    ("D", "We'll confirm the booking once payment clears.", [(C, None)]),
    # ---- E: Tue 2024-09-03, Berlin
    ("E", "I'll send you the draft agenda by Thursday.", [(C, "2024-09-05")]),
    ("E", "Could you please forward the vendor list by end of week?", [(R, "2024-09-06")]),
    ("E", "I will get the access badges sorted before Friday.", [(C, "2024-09-06")]),
    ("E", "Would you mind sharing your slides after the talk?", [(R, None)]),
    ("E", "If there's interest, we could run a second workshop in October.", []),
    ("E", "I'll let you know by COB Thursday whether the budget is approved.", [(C, "2024-09-05")]),
    ("E", "Please send your timesheets by the 12th.", [(R, "2024-09-12")]),
    ("E", "Unfortunately we have to decline the invitation this time.", []),
    ("E", "We'll have the translated version ready in two weeks.", [(C, "2024-09-17")]),
    ("E", "I already signed the DocuSign this morning.", []),
    ("E", "Can you set up a meeting with the Munich team next Tuesday?", [(R, "2024-09-10")]),
    ("E", "I'll think it over and get back to you within 48 hours.", [(C, "2024-09-05")]),
    ("E", "Klaus said the servers would be migrated over the weekend.", []),
    ("E", "Need your sign-off on the budget by tomorrow noon.", [(R, "2024-09-04")]),
    ("E", "I'll do it.", [(C, None)]),
    ("E", "Will do!", [(C, None)]),
    ("E", "Sounds good, thanks!", []),
    ("E", "I'll ask IT about the VPN issue and report back this afternoon.", [(C, "2024-09-03")]),
    (
        "E",
        "Could you have a look at the attached invoice? Something seems off with the VAT.",
        [(R, None)],
    ),
    ("E", "I'm off on Friday, so please send any last edits by Thursday.", [(R, "2024-09-05")]),
    ("E", "We would be happy to host the next meetup at our office.", []),
    ("E", "Let me know which of these dates suits you best: 16, 17 or 19 September.", [(R, None)]),
    ("E", "I'll transfer the remaining balance by the end of the month.", [(C, "2024-09-30")]),
    ("E", "How did the move go? Settling in OK?", []),
    ("E", "Please note that the office will be closed on October 3 for the national holiday.", []),
    ("E", "You'll get the final invoice from me next week.", [(C, "2024-09-13")]),
    (
        "E",
        "I'd appreciate it if you could review the hiring plan before our 1:1 on Monday.",
        [(R, "2024-09-09")],
    ),
    ("E", "Whoever gets to the office first, please turn on the coffee machine :)", [(R, None)]),
    ("E", "I'll try to call you later today.", []),
    ("E", "I'll make the corrections and resend the file in 5 business days.", [(C, "2024-09-10")]),
    ("E", "The deadline for submissions was last Friday.", []),
    ("E", "We are committed to delivering excellent service.", []),
    (
        "E",
        "Can you check whether the hotel includes breakfast and let me know tomorrow?",
        [(R, "2024-09-04")],
    ),
    ("E", "I'll post the job ad on LinkedIn by Wednesday.", [(C, "2024-09-04")]),
    ("E", "Remember to bring your passport to the onsite on the 9th.", [(R, "2024-09-09")]),
    ("E", "I had promised to send the figures, but the data isn't ready yet.", []),
    ("E", "As discussed, I'm attaching the revised NDA.", []),
    ("E", "I'll send you the login details in a separate email.", [(C, None)]),
    ("E", "Could you be a dear and grab me a sandwich on your way in?", [(R, None)]),
    ("E", "Once the legal review is done, I'll forward the contract.", [(C, None)]),
    ("E", "Do you happen to have the Wi-Fi password for the meeting room?", [(R, None)]),
    ("E", "No rush on this, but can you update the wiki page at some point?", [(R, None)]),
    # ---- F: Thu 2024-12-19, UTC
    (
        "F",
        "I'll send out the year-end summary before the holidays, by Monday at the latest.",
        [(C, "2024-12-23")],
    ),
    ("F", "Could you approve the final invoices by Friday?", [(R, "2024-12-20")]),
    ("F", "I'll process the refunds by December 31.", [(C, "2024-12-31")]),
    ("F", "Wishing you and yours a very merry Christmas!", []),
    ("F", "Please make sure all laptops are returned by the 3rd.", [(R, "2025-01-03")]),
    ("F", "I'll be offline from tomorrow until January 6.", []),
    ("F", "Can you send the holiday rota to everyone today?", [(R, "2024-12-19")]),
    ("F", "I'll deliver the annual report within 3 days.", [(C, "2024-12-22")]),
    ("F", "Jamal is going to email you the logistics.", []),
    ("F", "Would you mind covering the support inbox on the 27th?", [(R, "2024-12-27")]),
    ("F", "If the numbers come in over target, we'll pay out bonuses in January.", []),
    ("F", "I can't get to this until after the break, sorry.", []),
    ("F", "I'll get back to you tomorrow with the final headcount.", [(C, "2024-12-20")]),
    ("F", "Did you manage to get home before the snow?", []),
    ("F", "Please find below the schedule for the holiday period.", []),
    ("F", "I will have the offer letter ready for signature by next Friday.", [(C, "2024-12-27")]),
    ("F", "Remind me to renew the domain before it expires on Jan 15.", [(R, "2025-01-15")]),
    ("F", "I'll need your bank details by Monday to process the payment.", [(R, "2024-12-23")]),
    (
        "F",
        "We're closing the books on the 31st, so please get your receipts in by the 30th.",
        [(R, "2024-12-30")],
    ),
    ("F", "I'll set up the shared drive for the new project today.", [(C, "2024-12-19")]),
    ("F", "Let me know when you're back from leave.", [(R, None)]),
    ("F", "I intended to call you yesterday but got tied up.", []),
    ("F", "Thanks, I'll take a look.", [(C, None)]),
    ("F", "Sure, I can do that by tomorrow.", [(C, "2024-12-20")]),
    # ---- G: Sat 2024-05-18, Sydney
    ("G", "I'll have the quote ready for you first thing Monday.", [(C, "2024-05-20")]),
    ("G", "Can you send through the photos from today's inspection?", [(R, None)]),
    ("G", "We'll start the renovation on the 27th as agreed.", [(C, "2024-05-27")]),
    ("G", "I'll text you when I'm on my way.", [(C, None)]),
    ("G", "Please lock up when you leave.", [(R, None)]),
    ("G", "Would you be free for a chat on Tuesday arvo?", [(R, "2024-05-21")]),
    ("G", "I might pop by tomorrow if I'm in the area.", []),
    ("G", "The plumber reckons he'll be done by Wednesday.", []),
    ("G", "I'll transfer the deposit tonight.", [(C, "2024-05-18")]),
    ("G", "Can you let me know by Thursday if the colours are OK?", [(R, "2024-05-23")]),
    ("G", "Cheers for the help today, really appreciated.", []),
    ("G", "I'll drop the keys off at your place on Sunday.", [(C, "2024-05-19")]),
    (
        "G",
        "Please don't forget the council permit needs to be lodged by the end of the month.",
        [(R, "2024-05-31")],
    ),
    ("G", "Not sure I'll make it to the footy tomorrow.", []),
    ("G", "I'll get the electrician to call you Monday.", [(C, "2024-05-20")]),
    ("G", "Could you ask the tenants to move the car before 8am Monday?", [(R, "2024-05-20")]),
    ("G", "We had a great time at the BBQ.", []),
    ("G", "Will send invoice Monday.", [(C, "2024-05-20")]),
    ("G", "Reckon you could email me the floor plan?", [(R, None)]),
    ("G", "I'd do it myself but I'm away all week.", []),
    # ---- H: Thu 2024-02-29, Chicago
    ("H", "I'll wire the payment tomorrow.", [(C, "2024-03-01")]),
    ("H", "Can you send me the W-2 by next Wednesday?", [(R, "2024-03-06")]),
    ("H", "I'll submit the grant application within 2 business days.", [(C, "2024-03-04")]),
    ("H", "Please sign the lease renewal before the 15th.", [(R, "2024-03-15")]),
    ("H", "We'll revisit headcount in Q2 if revenue holds up.", []),
    ("H", "I completed the compliance training this afternoon.", []),
    ("H", "Could you take over the Henderson account while I'm on leave?", [(R, None)]),
    ("H", "I'll update the roadmap and share it in two weeks.", [(C, "2024-03-14")]),
    ("H", "Leap day trivia: Feb 29 only comes around every four years!", []),
    ("H", "Is the 3pm still happening?", [(R, None)]),
    ("H", "I'll get the signed copies to legal tonight.", [(C, "2024-02-29")]),
    ("H", "I'll need a few more days to finish the analysis.", []),
    ("H", "Could you let the client know we're running a week behind?", [(R, None)]),
    ("H", "Dan and Priya will present the results on Friday.", []),
    ("H", "We plan to close the round by March 8.", [(C, "2024-03-08")]),
    ("H", "If you'd prefer, I could send the slides ahead of time.", []),
    ("H", "Please be sure to complete the survey by Monday.", [(R, "2024-03-04")]),
    ("H", "Can you please ask Jordan to resend the invoice?", [(R, None)]),
    ("H", "I'll touch base with you on Monday about the timeline.", [(C, "2024-03-04")]),
    ("H", "Honestly, who schedules a meeting at 5pm on a Friday?", []),
    ("H", "I'd be happy to review your draft if you send it over.", []),
    ("H", "I will get you an updated estimate by end of next week.", [(C, "2024-03-08")]),
    ("H", "What's the status of the March payroll run?", [(R, None)]),
    ("H", "Please advise on how you'd like to proceed.", [(R, None)]),
    ("H", "I'll be sure to mention it to the board.", [(C, None)]),
    # ---- multi-item and harder bodies
    (
        "A",
        "Great meeting today. A few follow-ups:\n\n1. I'll send the pricing sheet by Friday.\n2. Can you share the list of integrations you need by Monday?\n3. Our CTO will join the next call.\n\nI'm also going to loop in Sam from support.",
        [(C, "2024-03-15"), (R, "2024-03-18"), (C, None)],
    ),
    (
        "B",
        "Thanks for your patience. I've spoken to the warehouse and they confirmed the pallets left yesterday. I'll send the tracking reference once I have it. I'll also give you a call on Monday to make sure everything arrived. Could you check the delivery note against the order when it lands?",
        [(C, None), (C, "2024-06-10"), (R, None)],
    ),
    (
        "C",
        "Reminder that the Q4 planning doc is due Friday. Please add your team's priorities by Wednesday so I can consolidate them. I'll circulate the merged version on Friday morning.",
        [(R, "2024-11-27"), (C, "2024-11-29")],
    ),
    (
        "E",
        "Following up on our chat:\n- I'll draft the MoU and send it by Friday\n- You'll confirm the venue with the hotel by Monday\n- Stefan will handle the catering",
        [(C, "2024-09-06"), (R, "2024-09-09")],
    ),
    (
        "F",
        "Quick summary of where we landed:\n\nI'm going to finalize the vendor contract tomorrow. Legal already approved the indemnity clause last week. Could you send me the PO number so I can reference it? And please remind Carla that her expense report is overdue.",
        [(C, "2024-12-20"), (R, None), (R, None)],
    ),
    (
        "G",
        "Mate, thanks heaps for today. I'll order the timber Monday. Can you sort the skip bin by Wednesday? Also, could you send me your ABN for the invoice?",
        [(C, "2024-05-20"), (R, "2024-05-22"), (R, None)],
    ),
    (
        "D",
        "Thank you for the meeting yesterday. As agreed, we will send the revised quotation by January 19. Could you please share the final volumes by Wednesday so we can lock in pricing? Our engineer Mr. Sato will visit your factory next month.",
        [(C, "2024-01-19"), (R, "2024-01-17")],
    ),
    (
        "H",
        "Team - a few things before the weekend:\n* Please finish your peer reviews by Monday EOD\n* I'll publish the promotion calendar next week\n* HR will send the benefits update\n* Don't forget the all-hands on March 7",
        [(R, "2024-03-04"), (C, "2024-03-08"), (R, "2024-03-07")],
    ),
    (
        "A",
        "Apologies for the delay on this. I was out sick Monday and Tuesday. I'll get the contract redlines to you by tomorrow evening, and if anything else comes up I'll flag it right away.",
        [(C, "2024-03-14")],
    ),
    (
        "B",
        "Thanks for the reminder! I have no idea how I forgot. Sending it now.",
        [(C, "2024-06-07")],
    ),
    ("E", "Hey, are you around for lunch? I'm buying :)", [(R, None)]),
    (
        "C",
        "I won't be able to make the 2pm, but I'll watch the recording tonight and send my notes tomorrow.",
        [(C, "2024-11-26")],
    ),
    (
        "A",
        "Could you take a look at the attached and let me know if the numbers make sense? No rush - sometime next week is fine.",
        [(R, "2024-03-22")],
    ),
    (
        "F",
        "I just wanted to say thank you for everything this year. It's been a pleasure working with you, and I look forward to more in 2025.",
        [],
    ),
    (
        "B",
        "Can you remind me which hotel we booked for Lisbon? I've lost the confirmation email.",
        [(R, None)],
    ),
    (
        "E",
        "Good news: the client signed! I'll send the kickoff invites today.",
        [(C, "2024-09-03")],
    ),
    ("G", "If it rains on Saturday we'll reschedule to Sunday.", []),
    ("C", "Per my last email, please send the W-9 so we can release payment.", [(R, None)]),
    ("D", "We regret to inform you that we cannot accept the proposed delivery schedule.", []),
    (
        "H",
        "I'm attaching the slides from yesterday. I'll send the recording as soon as Zoom finishes processing it, probably tomorrow.",
        [(C, "2024-03-01")],
    ),
    # ---- terse, informal, no punctuation, odd casing
    ("A", "pls send me the deck before the 2pm call today", [(R, "2024-03-13")]),
    ("A", "will send tmrw", [(C, "2024-03-14")]),
    ("B", "ok ill get it done by monday", [(C, "2024-06-10")]),
    ("C", "can u check the logs when u get in", [(R, None)]),
    ("E", "PLEASE UPDATE THE TRACKER BEFORE FRIDAY'S REVIEW", [(R, "2024-09-06")]),
    ("F", "np, ill take care of it", [(C, None)]),
    ("G", "got it thanks", []),
    ("H", "i'll ping legal tmr and let u know", [(C, "2024-03-01")]),
    ("D", "Noted with thanks.", []),
    ("A", "Not a request, just FYI: the vendor will invoice us on the 1st.", []),
    ("B", "Looking forward to seeing you on Thursday!", []),
    ("C", "I hereby confirm that I will attend the training on December 4.", [(C, "2024-12-04")]),
    ("E", "Can't wait for the offsite!!", []),
    ("F", "Who's bringing the cake for Friday?", [(R, "2024-12-20")]),
    ("A", "Would you like me to set up a call with the vendor?", [(R, None)]),
    ("B", "I'm so sorry, I completely forgot to send it yesterday.", []),
    ("C", "I promise I'll have it on your desk by 9am tomorrow.", [(C, "2024-11-26")]),
    ("E", "I could look into it, but honestly I don't have bandwidth right now.", []),
    ("G", "Heaps of thanks for the referral, I'll return the favour one day!", []),
    ("H", "You should really try the new ramen place on Wells.", []),
    ("D", "Please accept my apologies for the confusion.", []),
    ("F", "Enjoy the break - you've earned it!", []),
    ("A", "Have a great trip!", []),
    ("C", "Let's grab lunch next week.", [(R, "2024-12-06")]),
    ("E", "I'll have my assistant send you the contract tomorrow.", [(C, "2024-09-04")]),
    ("B", "Do you mind if I bring a colleague along?", [(R, None)]),
    ("A", "The deadline is Friday.", []),
    ("H", "Please feel free to ignore this if you've already paid.", []),
]

# Written AFTER the rules were frozen and scored once, untouched, as split "fresh": the only
# part of this set whose phrasing the rule author had not seen while writing the rules.
FRESH: list[tuple[str, str, list[tuple[str, str | None]]]] = [
    (
        "E",
        "I'm on it - expect the updated spreadsheet in your inbox by Thursday morning.",
        [(C, "2024-09-05")],
    ),
    ("A", "Just a heads-up that the vendor's invoice is due on the 22nd.", []),
    ("B", "Would you be so kind as to send me a copy of the signed agreement?", [(R, None)]),
    ("C", "I'll make a reservation at Nopa for 7pm on Wednesday.", [(C, "2024-11-27")]),
    (
        "H",
        "Can someone from your team walk us through the integration on Tuesday?",
        [(R, "2024-03-05")],
    ),
    ("D", "We have decided not to proceed with the order.", []),
    ("F", "Expect a revised draft from me no later than January 10.", [(C, "2025-01-10")]),
    ("G", "Are you able to pop over Monday to measure up?", [(R, "2024-05-20")]),
    ("E", "Let's touch base again after the board meeting.", [(R, None)]),
    ("A", "I'd have called, but my phone died.", []),
    (
        "B",
        "Could I ask you to review the budget lines marked in yellow by Wednesday?",
        [(R, "2024-06-12")],
    ),
    ("C", "I'm going to head out early today.", []),
    ("H", "We will reimburse your travel expenses within 30 days of receipt.", [(C, None)]),
    ("D", "Please see the notes from today's call below.", []),
    ("F", "Drop me a line when you land.", [(R, None)]),
    (
        "E",
        "I'll get someone from facilities to fix the projector by tomorrow.",
        [(C, "2024-09-04")],
    ),
    ("A", "Any objections if I share your deck with the sales team?", [(R, None)]),
    ("B", "Sorry, I won't have time to look at this before I go on leave.", []),
    ("C", "Let me dig into the logs this afternoon and report back.", [(C, "2024-11-25")]),
    ("G", "I reckon the council will approve it within a fortnight.", []),
    ("H", "Make sure the contracts are countersigned before March 15.", [(R, "2024-03-15")]),
    ("A", "Jane asked me to remind everyone that timesheets are due Friday.", []),
    ("B", "We are pleased to confirm your booking for 12 June.", []),
    ("C", "Going to send the final version over tonight.", [(C, "2024-11-25")]),
    (
        "D",
        "Could your team provide a quotation for 500 units by the end of January?",
        [(R, "2024-01-31")],
    ),
    ("E", "Could you not cc the whole team on these?", [(R, None)]),
    ("F", "I'm not sure I'll be able to attend on the 23rd.", []),
    ("A", "I'll look into it and let you know what I find.", [(C, None)]),
    ("G", "Text me the address and I'll swing by after work.", [(R, None)]),
    ("H", "Who's the right person to talk to about procurement?", [(R, None)]),
    ("B", "I shall forward the revised terms on Tuesday.", [(C, "2024-06-11")]),
    ("C", "What do you think about moving the offsite to Q1?", [(R, None)]),
    ("E", "Our legal team will review and revert within 10 business days.", [(C, "2024-09-17")]),
    ("A", "Feel free to grab me after standup if you have questions.", []),
    ("D", "Kindly confirm whether the shipment can be expedited.", [(R, None)]),
    ("F", "I have a feeling this will slip into January.", []),
    ("H", "Mind sending over last quarter's numbers?", [(R, None)]),
    ("G", "I'll sort the paperwork and email it across Tuesday.", [(C, "2024-05-21")]),
    ("B", "If you're around next week, let's grab a coffee.", []),
    ("C", "Please hold off on sending anything to the client until I've reviewed it.", [(R, None)]),
    ("E", "The conference starts on Monday 9 September.", []),
    ("A", "Can you two connect and figure out a plan by the end of the week?", [(R, "2024-03-15")]),
    ("F", "You will receive a confirmation email within 24 hours.", []),
    (
        "H",
        "Before I forget - I'll be sending the contract over for signature tomorrow.",
        [(C, "2024-03-01")],
    ),
    ("D", "I apologise for not replying sooner.", []),
    ("G", "Happy to lend you the trailer on the weekend if you need it.", []),
    ("B", "I'll confirm numbers for the dinner by 5pm today.", [(C, "2024-06-07")]),
    ("C", "Should we loop in finance before we send this?", [(R, None)]),
    ("E", "Couldn't make it to the meeting, sorry - was stuck in traffic.", []),
    ("A", "First thing tomorrow I'll send the draft to legal.", [(C, "2024-03-14")]),
    (
        "F",
        "Let us know your preferred dates for the January workshop by Friday.",
        [(R, "2024-12-20")],
    ),
    ("H", "We'll circle back once the audit wraps up next month.", [(C, "2024-03-31")]),
    ("D", "Mr. Yamada has kindly agreed to host the dinner on Friday.", []),
    ("G", "Could you chuck the bins out Tuesday night?", [(R, "2024-05-21")]),
    ("B", "I reckon I can get it to you by mid next week.", []),
    ("C", "Be sure to submit your benefits elections by December 6.", [(R, "2024-12-06")]),
    ("E", "I was wondering whether you'd had a chance to look at my application?", [(R, None)]),
    ("A", "I'll have Maria send you the W-9 this afternoon.", [(C, "2024-03-13")]),
    ("F", "Happy holidays, and see you in the new year!", []),
    ("H", "Send the updated deck to the whole group by noon tomorrow please.", [(R, "2024-03-01")]),
]

# Written by the second detector author BEFORE any model or rule was tuned, and scored once at
# the end, untouched, as split "fresh2": realistic multi-sentence bodies in several registers
# (Enron-era business prose, terse replies, chatty notes, vendor mail, assistants).
FRESH2: list[tuple[str, str, list[tuple[str, str | None]]]] = [
    (
        "A",
        "Attached is the revised gas transportation agreement. I have incorporated the changes "
        "we discussed on Monday. Please review and give me a call with any comments.",
        [(R, None)],
    ),
    (
        "A",
        "Can we move our 2:00 to Thursday? Something came up with the regulators.",
        [(R, "2024-03-14")],
    ),
    (
        "A",
        "I will be in Houston next week for the board meeting. Maybe we can grab lunch if "
        "your schedule allows.",
        [],
    ),
    (
        "A",
        "Per our conversation, I'll fax the signed confirmation to your office first thing "
        "tomorrow morning.",
        [(C, "2024-03-14")],
    ),
    ("A", "FYI - the deal closed yesterday. Nice work everyone.", []),
    (
        "A",
        "We need to get together before the end of the week to go over the budget numbers. "
        "What does your Thursday look like?",
        [(R, "2024-03-15"), (R, None)],
    ),
    (
        "A",
        "Thanks for the update. I talked to Mark and he is fine with the language in section 4.",
        [],
    ),
    (
        "A",
        "Please forward this to anyone in your group who should attend the training session.",
        [(R, None)],
    ),
    (
        "A",
        "I'd like to set up a meeting with you and Rick early next week to discuss the hedge.",
        [(R, "2024-03-19")],
    ),
    (
        "A",
        "Got it. I'll make the changes tonight and send you a clean version.",
        [(C, "2024-03-13")],
    ),
    (
        "B",
        "Hiya, just confirming we're all set for the 14th. I've booked the back room at the "
        "Crown for 7. Bring a jumper, it gets cold.",
        [(R, None)],
    ),
    (
        "B",
        "Following on from the audit, we'll need copies of all supplier contracts over £50k. "
        "Could you pull these together by Wednesday?",
        [(R, "2024-06-12")],
    ),
    ("B", "Lovely to see you yesterday. The kids haven't stopped talking about the zoo.", []),
    (
        "B",
        "I've had a chat with the team and we're happy to go ahead. I'll get the PO raised on "
        "Monday and send it over.",
        [(C, "2024-06-10")],
    ),
    (
        "B",
        "Unfortunately the venue has cancelled on us. I'm looking at alternatives and will "
        "update everyone by Tuesday.",
        [(C, "2024-06-11")],
    ),
    (
        "B",
        "Would Thursday at 11 work for a quick catch-up? Happy to come to you.",
        [(R, "2024-06-13")],
    ),
    (
        "B",
        "We have received your application and it is being reviewed by our team. You will "
        "hear from us within ten working days.",
        [(C, "2024-06-21")],
    ),
    ("B", "Do you have the number for the plumber you used last year?", [(R, None)]),
    (
        "B",
        "The report is looking good. A couple of small things: the chart on page 6 needs a "
        "source, and the exec summary should mention the Leeds pilot.",
        [(R, None)],
    ),
    (
        "B",
        "I'm afraid I can't make Monday now. Can we push to later in the week?",
        [(R, None)],
    ),
    (
        "C",
        "Heads up: I'm out tomorrow for a doctor's appointment. Kevin is covering on-call.",
        [],
    ),
    (
        "C",
        "Thanks for flagging. I'll dig into why the invoices are duplicating and get back to "
        "you by Wednesday.",
        [(C, "2024-11-27")],
    ),
    ("C", "Can someone confirm whether the office is open on Friday?", [(R, "2024-11-29")]),
    (
        "C",
        "Reviewed the deck - looks great overall. I left a few comments in the doc. Ship it "
        "once those are addressed.",
        [(R, None)],
    ),
    (
        "C",
        "We're still waiting on the signed MSA from your legal team. Any update on timing?",
        [(R, None)],
    ),
    (
        "C",
        "I just pushed the hotfix. It should roll out to all regions within the hour.",
        [],
    ),
    (
        "C",
        "Sounds good. Let's plan on Tuesday at 10 then. I'll send a calendar invite.",
        [(R, "2024-11-26"), (C, None)],
    ),
    (
        "C",
        "Going forward, all expense reports need manager approval before they go to finance.",
        [],
    ),
    ("C", "Who owns the onboarding checklist these days?", [(R, None)]),
    (
        "C",
        "My flight lands at 6 so I should be at the restaurant by 7:30 at the latest.",
        [],
    ),
    (
        "D",
        "Thank you for your inquiry. We will send you the catalogue and price list by courier "
        "on Monday.",
        [(C, "2024-01-15")],
    ),
    (
        "D",
        "Could you kindly let us know the expected delivery date for order 4471?",
        [(R, None)],
    ),
    (
        "D",
        "Our president will visit Osaka on January 24 and would like to meet your team if "
        "convenient.",
        [(R, "2024-01-24")],
    ),
    (
        "D",
        "We regret to inform you that the product has been discontinued.",
        [],
    ),
    (
        "D",
        "I have checked the invoice and found that the unit price is incorrect. Please issue a "
        "corrected invoice at your earliest convenience.",
        [(R, None)],
    ),
    (
        "D",
        "The samples arrived safely this morning. Our QA team will test them next week.",
        [(C, "2024-01-19")],
    ),
    (
        "D",
        "Let me confirm the schedule with the factory and reply to you by Wednesday.",
        [(C, "2024-01-17")],
    ),
    (
        "E",
        "Kurze Info in English for the group: the server migration is done and everything "
        "looks stable.",
        [],
    ),
    (
        "E",
        "Can you give me a rough estimate for the translation work? Doesn't need to be exact.",
        [(R, None)],
    ),
    (
        "E",
        "I'll be honest, I'm not convinced the new supplier can handle our volumes.",
        [],
    ),
    (
        "E",
        "I've asked Jonas to prepare the handover notes. He should have them ready by Friday.",
        [],
    ),
    (
        "E",
        "We'll cover your hotel for both nights. Just send me the receipt afterwards.",
        [(C, None), (R, None)],
    ),
    (
        "E",
        "Are you joining the call on Thursday or should I take notes for you?",
        [(R, "2024-09-05")],
    ),
    (
        "E",
        "I am going to propose the revised timeline at the steering committee on Monday.",
        [(C, "2024-09-09")],
    ),
    (
        "E",
        "Not sure if you saw this, but the client moved the workshop to October.",
        [],
    ),
    (
        "E",
        "Please treat this as urgent: the certificate expires on the 6th and nobody has renewed it.",
        [(R, "2024-09-06")],
    ),
    (
        "E",
        "When you're back from holiday, could we sit down and talk about your goals for next year?",
        [(R, None)],
    ),
    (
        "F",
        "Quick one - what's the PO number for the December order? Accounts are asking.",
        [(R, None)],
    ),
    (
        "F",
        "I'll be offline from tomorrow until 2 January. For anything urgent, contact Priya.",
        [],
    ),
    (
        "F",
        "Thanks for all your help this year. I'll send over the final invoice before I log off "
        "tomorrow.",
        [(C, "2024-12-20")],
    ),
    (
        "F",
        "Had a look at the draft. I think section 3 could be shorter but otherwise it reads well.",
        [],
    ),
    (
        "F",
        "We should definitely do a proper retro in January.",
        [],
    ),
    (
        "F",
        "Can you approve my leave for 27-31 December in the HR system when you get a second?",
        [(R, None)],
    ),
    (
        "F",
        "The bank transfer went through this morning. Reference is INV-2291.",
        [],
    ),
    (
        "F",
        "I need the signed timesheets from everyone by noon on Monday, no exceptions.",
        [(R, "2024-12-23")],
    ),
    (
        "G",
        "Hey mate, any chance I could borrow your ladder this arvo?",
        [(R, "2024-05-18")],
    ),
    (
        "G",
        "Footy's been moved to Sunday because of the rain. Same time, same oval.",
        [],
    ),
    (
        "G",
        "I'll drop the keys in your letterbox on my way to work Monday.",
        [(C, "2024-05-20")],
    ),
    (
        "G",
        "Did the electrician ever get back to you about the quote?",
        [(R, None)],
    ),
    (
        "G",
        "Just letting you know the strata meeting minutes are up on the portal.",
        [],
    ),
    (
        "G",
        "Would you be keen to split a trailer load of mulch next weekend?",
        [(R, None)],
    ),
    (
        "H",
        "Attached please find the agenda for next week's offsite. Let me know if I missed anything.",
        [(R, None)],
    ),
    (
        "H",
        "The customer called again about the late shipment. Can you get me a status by end of "
        "day so I can call them back?",
        [(R, "2024-02-29")],
    ),
    (
        "H",
        "I'm going to reach out to their CFO directly tomorrow and see if we can unblock this.",
        [(C, "2024-03-01")],
    ),
    (
        "H",
        "Rates went up 25 basis points this morning, in case you hadn't seen.",
        [],
    ),
    (
        "H",
        "We talked about this last quarter and agreed to revisit it in the spring.",
        [],
    ),
    (
        "H",
        "Please have the updated org chart to me by Monday. I need it for the board deck.",
        [(R, "2024-03-04")],
    ),
    (
        "H",
        "I owe you a proper reply on the pricing question - will get to it tomorrow.",
        [(C, "2024-03-01")],
    ),
    (
        "H",
        "Congrats on the promotion! Well deserved.",
        [],
    ),
    (
        "A",
        "Jeff asked me to coordinate the site visit. Would the week of April 8 work for your team?",
        [(R, None)],
    ),
    (
        "A",
        "I wanted to follow up on the proposal we sent last month. Have you had a chance to "
        "review it with your partners?",
        [(R, None)],
    ),
    (
        "B",
        "We're pleased to let you know your order has shipped. Track your parcel using the "
        "link below.",
        [],
    ),
    (
        "C",
        "I can take the Thursday shift if nobody else wants it.",
        [],
    ),
    (
        "D",
        "Please be advised that our office will be closed from January 13 to January 15.",
        [],
    ),
    (
        "E",
        "I'll have a think about it and come back to you next week.",
        [(C, "2024-09-13")],
    ),
    (
        "F",
        "Give me a shout if you want to grab a drink before Christmas.",
        [],
    ),
    (
        "G",
        "Will you be home Saturday arvo? I'll pop round with the drill.",
        [(R, "2024-05-25"), (C, "2024-05-25")],
    ),
    (
        "H",
        "Sorry for the slow reply. Yes, we can do the 5th. I will book the conference room.",
        [(C, None)],
    ),
    (
        "C",
        "Please make sure your timesheet for November is submitted by Friday - payroll closes early "
        "because of the holiday.",
        [(R, "2024-11-29")],
    ),
    (
        "A",
        "Mike and I spoke this morning. We are going to hold off on the expansion until Q3.",
        [],
    ),
]

GREETINGS = [
    "Hi {first},",
    "Hello {first},",
    "Dear {first},",
    "Hey {first} -",
    "{first},",
    "Hi all,",
    "Good morning,",
    "Hi there,",
    "",
    "",
    "Morning {first}!",
]
SIGNOFFS = [
    "Thanks,",
    "Best,",
    "Cheers,",
    "Regards,",
    "Kind regards,",
    "Thanks so much!",
    "Talk soon,",
    "Best regards,",
    "Many thanks,",
    "-",
    "Warmly,",
    "",
]
SIGNATURES = [
    "--\n{name}\nHead of Partnerships | Acme Corp\nM: +1 (415) 555-0134\nacme.example",
    "{name}\nSenior Analyst, Finance\nOffice: 212-555-0199 | Mobile: 917-555-0143",
    "{name}\nOperations Manager\nNorthwind Traders\nPlease note I work Mon-Thu; I will reply to Friday emails on Monday.",
    "--\n{name} | Product Lead\nBook time with me: https://cal.example.com/{first}\nOut of office 20-22 March.",
    "{name}\nAccount Executive\nT +44 20 7946 0958\nOur offices will be closed on Monday 26 August for the bank holiday.",
    "{name}\nDirector of Engineering\nPlease consider the environment before printing this email.",
    "{name}\nSales | EMEA\nJoin us at SaaStr on September 10-12 - visit booth 42!",
    "__________\n{name}\nCustomer Success\nCall me: 0412 555 019\nI'll respond within one business day.",
]
FOOTERS = [
    "Sent from my iPhone",
    "Get Outlook for iOS",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from Mail for Windows",
]
DISCLAIMERS = [
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be privileged. "
    "If you are not the intended recipient, please notify the sender immediately and delete this "
    "message. Please do not copy, forward or disclose its contents.",
    "This message is intended only for the named recipient. If you received it in error, kindly reply "
    "to let us know and then delete it. We will never ask you for your password by email.",
    "DISCLAIMER: The information contained in this message is for discussion purposes only and does "
    "not constitute an offer. Please contact us by 31 December if you wish to unsubscribe.",
]
QUOTED = [
    "On {qdate}, {qname} <{qaddr}> wrote:\n> Could you send me the final numbers by Thursday?\n> I'll review them over the weekend.\n>\n> Thanks,\n> {qfirst}",
    "-----Original Message-----\nFrom: {qname} <{qaddr}>\nSent: {qdate}\nTo: {name}\nSubject: Re: next steps\n\nI will send the signed copy tomorrow. Please confirm the delivery address by Friday.\n\n{qfirst}",
    "From: {qname}\nSent: {qdate}\nTo: {name}\nSubject: RE: contract\n\nHi,\n\nCan you please share the redlines before Monday? We'll get back to you within 48 hours after that.\n\nBest,\n{qfirst}",
    "> On {qdate}, {qname} wrote:\n> > Please RSVP by the 12th.\n> I'll let you know by tomorrow.",
    "---------- Forwarded message ---------\nFrom: {qname} <{qaddr}>\nDate: {qdate}\nSubject: invoice\nTo: {addr}\n\nPlease pay the attached invoice within 30 days. I will send a reminder next week.",
    "On {qdate} {qname} wrote:\n\n> Would you mind reviewing the attached deck? I promise I'll keep the meeting to 30 minutes.\n> Let me know by end of day.",
    "________________________________\nFrom: {qname} <{qaddr}>\nSent: {qdate}\nTo: {name} <{addr}>\nSubject: Re: follow up\n\nI'll call you on Monday morning. Could you send the agenda by EOD?",
]
PEOPLE = [
    ("Dana Wu", "dana.wu@acme.example"),
    ("Tom Becker", "tom@northwind.example"),
    ("Priya Raman", "priya@contoso.example"),
    ("Luis Ortega", "luis.ortega@fabrikam.example"),
    ("Keiko Sato", "k.sato@tailspin.example"),
    ("Sam Owens", "sam@owner.example"),
    ("Anna Muller", "anna.muller@woodgrove.example"),
    ("Jess Kim", "jess@litware.example"),
]
QDATES = [
    "Tue, Mar 12, 2024 at 4:02 PM",
    "Monday, June 3, 2024 9:14 AM",
    "22/11/2024 18:30",
    "Wed, 4 Sep 2024 08:11",
    "Thursday, December 12, 2024 11:45 AM",
]


def build(seed: int = 20240313) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    numbered = [(f"d{i:03d}", b) for i, b in enumerate(BODIES, 1)]
    numbered += [(f"f{i:03d}", b) for i, b in enumerate(FRESH, 1)]
    numbered += [(f"g{i:03d}", b) for i, b in enumerate(FRESH2, 1)]
    for ident, (anchor, body, gold) in numbered:
        sent_at, tz = ANCHORS[anchor]
        (sname, saddr), (rname, raddr), (qname, qaddr) = rng.sample(PEOPLE, 3)
        first, rfirst = sname.split()[0], rname.split()[0]
        parts = []
        greeting = rng.choice(GREETINGS).format(first=rfirst)
        if greeting:
            parts.append(greeting)
        parts.append(body)
        signoff = rng.choice(SIGNOFFS)
        if signoff:
            parts.append(f"{signoff}\n{first}" if signoff != "-" else f"-{first[0]}")
        if rng.random() < 0.5:
            parts.append(rng.choice(SIGNATURES).format(name=sname, first=first.lower()))
        if rng.random() < 0.15:
            parts.append(rng.choice(FOOTERS))
        if rng.random() < 0.15:
            parts.append(rng.choice(DISCLAIMERS))
        if rng.random() < 0.5:
            quoted = rng.choice(QUOTED).format(
                qdate=rng.choice(QDATES),
                qname=qname,
                qaddr=qaddr,
                qfirst=qname.split()[0],
                name=sname,
                addr=saddr,
            )
            parts.append(quoted)
        text = "\n\n".join(parts) + "\n"
        rows.append(
            {
                "id": ident,
                "text": text,
                "sent_at": sent_at,
                "tz": tz,
                "from": saddr,
                "to": [raddr],
                "subject": "",
                "gold": [{"kind": k, "due": d} for k, d in gold],
            }
        )
    ids = [r["id"] for r in rows if str(r["id"]).startswith("d")]
    rng2 = random.Random(seed + 1)
    rng2.shuffle(ids)
    heldout = set(ids[: len(ids) // 2])
    for r in rows:
        if str(r["id"]).startswith("f"):
            r["split"] = "fresh"
        elif str(r["id"]).startswith("g"):
            r["split"] = "fresh2"
        else:
            r["split"] = "heldout" if r["id"] in heldout else "dev"
    return rows


def main() -> None:
    out = Path(__file__).with_name("detect_eval.jsonl")
    rows = build()
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} emails to {out}")


if __name__ == "__main__":
    main()
