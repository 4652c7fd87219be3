"""Builds the client-facing replies; every word comes from a jinja2 template."""

from __future__ import annotations

from dataclasses import replace

from faq.model import Decision, Entry, MatchResult, SmallTalk
from handlers.crisis import CrisisHit
from handlers.faq_ports import Faq
from handlers.model import Action, ActionKind, Button, Reply
from handlers.ports import Texts
from handlers.question_reading import Reading
from handlers.queue_ports import Routing

# Long category lists are paged so that every channel can show them as big buttons.
PAGE_SIZE = 8
# The value of the consent notice's «Не согласен(на)» (ActionKind.CONSENT).
DECLINE = "decline"
# The values of the buttons that confirm or take back closing a question nobody answered yet.
CONFIRMED = "confirmed"
KEEP = "keep"
# The value of the specialist button under a re-explanation: a second «не понял» hands over.
AGAIN = "again"
# The value of the specialist button under the no-match reply, which offers to pass the
# question on: a typed yes to it hands over.
OFFERED = "offered"
_STARS = tuple(Button(str(n), Action(ActionKind.RATE, str(n))) for n in range(1, 6))


class ReplyBuilder:
    def __init__(self, texts: Texts, faq: Faq, institution: str = "") -> None:
        self._t = texts
        self._faq = faq
        self._institution = institution.strip()

    def _button(self, label: str, kind: ActionKind, value: str = "") -> Button:
        return Button(self._t.render(f"button_{label}"), Action(kind, value))

    def _pressable(self, name: str, rows: tuple[tuple[Button, ...], ...],
                   **context: object) -> Reply:
        """A text that says which button to press, with its variant for an app that shows no
        buttons: the same template rendered with buttons=False says what to type instead."""
        text = self._t.render(name, buttons=True, **context)
        typed = self._t.render(name, buttons=False, **context)
        return Reply(text, rows, typed_text="" if typed == text else typed)

    def _footer(self, specialist: str = "") -> tuple[tuple[Button, ...], ...]:
        return (
            (self._button("specialist", ActionKind.SPECIALIST, specialist),),
            (self._button("menu", ActionKind.MENU),),
        )

    def greeting(self, consented: bool) -> Reply:
        # The deployment's own name wins over the one a knowledge-base file carries.
        institution = self._institution or self._faq.kb.institution
        rows = self._menu_rows() + self._footer()[:1] if consented else (
            (self._button("consent", ActionKind.CONSENT),),
            (self._button("menu", ActionKind.MENU),))
        return self._pressable("greeting", rows, consented=consented, institution=institution,
                               topics=self._topics())

    def consent_notice(self, then_specialist: bool) -> Reply:
        then = "specialist" if then_specialist else ""
        return self._pressable("consent_notice", self._consent_rows(then),
                               then_specialist=then_specialist)

    def consent_reminder(self) -> Reply:
        return self._pressable("consent_reminder", self._consent_rows("specialist"))

    def _consent_rows(self, then: str) -> tuple[tuple[Button, ...], ...]:
        return ((self._button("consent", ActionKind.CONSENT, then),),
                (self._button("decline", ActionKind.CONSENT, DECLINE),))

    def consent_declined(self) -> Reply:
        # Another way to a person: the knowledge base's own contacts, when it has them.
        contacts = self._contacts()
        rows = ((Button(contacts.question, Action(ActionKind.ENTRY, contacts.id)),),) \
            if contacts else ()
        # After the menu's topics: a typed number still picks the topic of that number.
        return self._pressable("consent_declined",
                               self._menu_rows() + rows + self._footer()[:1], contacts=contacts)

    def _contacts(self) -> Entry | None:
        match = self._faq.match(self._t.render("contacts_question"))
        best = match.best if match.decision is Decision.ANSWER else None
        return self._faq.kb.entry(best.entry_id) if best else None

    def consent_accepted(self) -> Reply:
        return self._pressable("consent_accepted", self._menu_rows(), topics=self._topics())

    def menu(self) -> Reply:
        return self._pressable("menu", self._menu_rows() + self._footer()[:1],
                               topics=self._topics())

    def help_asked(self) -> Reply:
        """«Помогите» with no topic: asked what about, with the topics and the specialist."""
        return self._pressable("smalltalk_help", self._menu_rows() + self._footer()[:1],
                               topics=self._topics())

    def _topics(self) -> list[str]:
        """The menu's titles, numbered in the text where no buttons show them."""
        return [c.title for c in self._faq.kb.categories]

    def _menu_rows(self) -> tuple[tuple[Button, ...], ...]:
        return tuple((Button(c.title, Action(ActionKind.CATEGORY, c.id)),)
                     for c in self._faq.kb.categories)

    def category(self, value: str) -> Reply:
        category_id, _, page_text = value.partition("@")
        category = self._faq.kb.category(category_id)
        if category is None:
            return self.menu()
        entries = self._faq.kb.entries_of(category_id)
        page = int(page_text) if page_text.isdigit() else 0
        shown = entries[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        rows = [(Button(e.question, Action(ActionKind.ENTRY, e.id)),) for e in shown]
        if len(entries) > (page + 1) * PAGE_SIZE:
            rows.append((self._button("more", ActionKind.CATEGORY,
                                      f"{category_id}@{page + 1}"),))
        return self._pressable("category", (*rows, *self._footer()), category=category,
                               count=len(entries), page=page, entries=shown)

    def entry(self, entry_id: str) -> Reply:
        entry = self._faq.kb.entry(entry_id)
        if entry is None:
            return self.menu()
        return self._answer(entry, waiting=False)

    def _answer(self, entry: Entry, waiting: bool) -> Reply:
        text = self._t.render("answer", entry=entry, waiting=waiting)
        links = tuple((link.title, link.url) for link in entry.links)
        return Reply(text, self._footer(), faq_entry_id=entry.id, links=links)

    def for_match(self, match: MatchResult, waiting: bool = False) -> Reply:
        kb = self._faq.kb
        entries = [e for c in match.candidates if (e := kb.entry(c.entry_id)) is not None]
        if match.decision is Decision.ANSWER and entries:
            return self._answer(entries[0], waiting)
        if match.decision is Decision.CLARIFY and entries:
            return self._clarify(entries[:3])
        if match.decision is Decision.SMALLTALK:
            kind = match.smalltalk or SmallTalk.GREETING
            if kind is SmallTalk.HELP:
                return self.help_asked()
            return self._pressable(f"smalltalk_{kind}", self._footer())
        return self._pressable("no_match", self._footer(OFFERED))

    def for_reading(self, reading: Reading) -> list[Reply]:
        if reading.several:
            return self._several(reading.match)
        best = reading.match.best
        if reading.above and best is not None:
            return [self.answered_above(best.entry_id)]
        return [self.for_match(reading.match)]

    def _several(self, match: MatchResult) -> list[Reply]:
        kb = self._faq.kb
        entries = [e for c in match.candidates if (e := kb.entry(c.entry_id)) is not None]
        lead = Reply(self._t.render("several_questions", count=len(entries)))
        return [lead, *(self._answer(entry, waiting=False) for entry in entries)]

    def answered_above(self, entry_id: str) -> Reply:
        """Points back at the answer just given, with a button to show it again. Not the
        answer itself: the same long text once more reads to an elderly client as if the
        question was not understood, while "it is above" says the bot did understand, and
        the buttons leave both ways open (the text again, or a person)."""
        entry = self._faq.kb.entry(entry_id)
        if entry is None:
            return self.menu()
        again = (Button(self._t.render("button_show_again"), Action(ActionKind.ENTRY, entry.id)),)
        reply = self._pressable("answered_above", (again, *self._footer()),
                                question=entry.question)
        # The answer's entry stays the conversation's last answer: a further «а …» follows it.
        return replace(reply, faq_entry_id=entry.id)

    def explain_again(self, offered: tuple[tuple[Button, ...], ...]) -> Reply | None:
        """The last reply's choices again, or its ways on after an answer, in simpler words;
        None when it was already explained again, or offered neither."""
        actions = [b.action for row in offered for b in row]
        if Action(ActionKind.SPECIALIST, AGAIN) in actions:
            return None
        rows = tuple(row for row in offered
                     if row and row[0].action.kind in (ActionKind.ENTRY, ActionKind.CATEGORY))
        if rows:
            # A page's «ещё» button stays last, unnumbered in the text.
            labels = [row[0].label for row in rows if "@" not in row[0].action.value]
            return self._pressable("explain_again", (*rows, *self._footer(AGAIN)),
                                   options=labels)
        if Action(ActionKind.SPECIALIST) in actions:  # the footer under an answer
            return self._pressable("explain_again", self._footer(AGAIN), options=[])
        return None

    def _clarify(self, entries: list[Entry]) -> Reply:
        rows = tuple((Button(e.question, Action(ActionKind.ENTRY, e.id)),) for e in entries)
        return self._pressable("clarify", (*rows, (self._button("none_of_these",
                                                                ActionKind.SPECIALIST),)),
                               entries=entries)

    def attachment_only(self, has_attachment: bool, kinds: tuple[str, ...] = (),
                        answered: bool = False, then: str = "") -> Reply:
        """The file acknowledged; `answered`: its caption's answer follows with the buttons;
        `then` ("specialist", "erasure"): what its caption asked for is answered next."""
        return self._pressable("attachment_only",
                               () if answered or then else self._footer(),
                               has_attachment=has_attachment, kinds=sorted(set(kinds)),
                               answered=answered, then=then)

    def escalated(self, expected_text: str, web: bool = False) -> Reply:
        return Reply(self._t.render("escalated", expected=expected_text, web=web),
                     ((self._button("close", ActionKind.CLOSE),),))

    def close_confirm(self) -> Reply:
        return self._pressable("close_confirm",
                               ((self._button("close_confirmed", ActionKind.CLOSE, CONFIRMED),),
                                (self._button("close_keep", ActionKind.CLOSE, KEEP),)))

    def question_cancelled(self) -> Reply:
        return Reply(self._t.render("question_cancelled"), self._footer()[1:])

    def documents_not_needed(self) -> Reply:
        return Reply(self._t.render("documents_not_needed"))

    def already_waiting(self, expected_text: str) -> Reply:
        return Reply(self._t.render("already_waiting", taken=False, noted=False,
                                    expected=expected_text))

    def noted_while_waiting(self, expected_text: str, taken: bool = False) -> Reply:
        """taken: a specialist has the question and has not written yet."""
        return Reply(self._t.render("already_waiting", taken=taken, noted=True,
                                    expected=expected_text))

    def already_with_specialist(self, expected_text: str = "") -> Reply:
        return Reply(self._t.render("already_waiting", taken=True, noted=False,
                                    expected=expected_text))

    def crisis_help(self, hit: CrisisHit, routing: Routing, with_file: bool = False) -> Reply:
        return Reply(self._t.render(hit.help_key, hit=hit, in_hours=routing.in_hours,
                                    expected=routing.expected_text, with_file=with_file))

    def ask_rating(self, template: str = "ask_rating") -> Reply:
        return Reply(self._t.render(template), (_STARS,))

    def rating_still_wanted(self, kind: SmallTalk) -> Reply:
        """Thanks or a blessing written instead of a rating: answered, and asked again."""
        return self._pressable("rating_still_wanted", (_STARS,), kind=str(kind))

    def rated(self, rating: int) -> Reply:
        return Reply(self._t.render("rated", rating=rating), self._footer()[1:])

    def rating_not_expected(self) -> Reply:
        return Reply(self._t.render("rating_not_expected"), self._footer()[1:])

    def already_closed(self) -> Reply:
        return Reply(self._t.render("already_closed"), self._footer()[1:])

    def forget_confirm(self) -> Reply:
        return Reply(self._t.render("forget_confirm"),
                     ((self._button("forget_yes", ActionKind.FORGET_CONFIRM),),
                      (self._button("cancel", ActionKind.CANCEL),)))

    def forgotten(self) -> Reply:
        return Reply(self._t.render("forgotten"))

    def closed_by_specialist(self, answered: bool = True) -> list[Reply]:
        """answered: a specialist replied in it; else there is nothing to rate."""
        if not answered:
            return [Reply(self._t.render("closed_unanswered"), self._footer())]
        # One message: "closed" and "rate us" as two would say "closed" twice.
        return [self.ask_rating("closed_by_specialist")]
