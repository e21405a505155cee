"""Issue 18, item 7: member search ignores case in Cyrillic (SQLite's lower() does not)
and reads phone numbers as people write them, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from app.bootstrap import Services
from app.services import enrollment, members
from app.services.programs import seed_demo


def test_search_is_case_blind_in_cyrillic_and_reads_phones_as_typed(
    real_services: Services,
) -> None:
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        for name, phone in (
            ("Надежда Смирнова", "+79161230000"),
            ("Алёна Ёлкина", "+79035550101"),
            ("John Smith", "+79260001122"),
        ):
            form = enrollment.EnrollmentForm(name=name, phone=phone, consent=True)
            data = enrollment.validate(form, demo, services.clock.now().date())
            enrollment.enroll(session, services.clock, demo, data)
        session.commit()

        def names(query: str) -> list[str]:
            return sorted(m.name for m, _ in members.search(session, demo, query))

        for query in ("надежда", "НАДЕЖДА", "нАдЕжДа смирнова", "  смирнова  "):
            assert names(query) == ["Надежда Смирнова"], query
        # ё and е are one letter to a searcher.
        assert names("алена елкина") == ["Алёна Ёлкина"]
        assert names("ЁЛКИНА") == ["Алёна Ёлкина"]
        assert names("john") == ["John Smith"]
        for query in (
            "8 (916) 123-00-00",
            "89161230000",
            "+7 916 123 00 00",
            "8 916 123",
            "123-00-00",
        ):
            assert names(query) == ["Надежда Смирнова"], query
        # LIKE wildcards are taken literally; unknown people are not found.
        assert names("%") == [] and names("_") == [] and names("Пётр") == []
        # A name changed later is found by its new spelling.
        [(member, _)] = members.search(session, demo, "john")
        member.name = "Жанна Иванова"
        session.commit()
        assert names("жанна") == ["Жанна Иванова"] and names("john") == []
