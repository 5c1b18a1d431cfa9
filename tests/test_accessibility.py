"""Every page, on a phone and on a desktop, in light and dark: no serious or critical
violation by axe-core (tools/axe.py fetches it), the engine of Lighthouse and of most
accessibility audits, injected into the page as Charla serves it."""

from __future__ import annotations

import pytest

from charla.chat import services
from tests.conftest import need
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1180, "height": 720}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# (who, path, a selector that says the page is ready)
PAGES = [
    (None, "/accounts/login/", "#main form"),
    (None, "/signup/", "#main form"),
    ("ana", "/", "#crear-sala"),
    ("ana", "/rooms/new/", "#main form"),
    ("ana", "/rooms/general/", "#estado-conexion.estado-success"),
    ("ana", "/rooms/general/members/", "#form-invitar"),
    ("ana", "/notifications/", "#notificaciones[data-state=connected]"),
    ("ana", "/rooms/nowhere/", "#sala-no-encontrada"),
    ("ana", "/settings/", "#form-ajustes"),
    ("boss", "/notifications/announce/", "#form-anuncio"),
]


@pytest.fixture(scope="module")
def axe_script():
    from tools import axe

    try:
        return axe.fetch().read_text()
    except Exception as exc:  # no network and no copy in .cache/
        need("axe-core", f"could not fetch axe-core {axe.VERSION} from npm ({exc}); make test fetches it")


def violations(page, axe_script: str) -> list[str]:
    page.add_script_tag(content=axe_script)
    found = page.evaluate(
        # label-content-name-mismatch (WCAG 2.5.3) is off by default in axe: on here.
        "async () => (await axe.run(document, {resultTypes: ['violations'],"
        " rules: {'label-content-name-mismatch': {enabled: true}}})).violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
        ".map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)"
    )
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_no_serious_accessibility_violation_on_any_page(browser, charla_servers, make_user, axe_script, device, scheme):
    ana = make_user("ana")
    make_user("luis")
    make_user("boss", is_staff=True)
    room = services.room_create(creator=ana, name="general", description="Everyone's room")
    services.message_send(room=room, author=ana, content="Hola, @luis: ¿listo?")
    (server,) = charla_servers(1)
    found = {}
    contexts = {}
    for who, path, ready in PAGES:
        if who not in contexts:
            context = browser.new_context(locale="en-US", color_scheme=scheme, bypass_csp=True, **VIEWPORTS[device])
            if who is not None:
                login(context.new_page(), server.http, who, f"pw-{who}")
            contexts[who] = context
        page = contexts[who].new_page()
        page.goto(f"{server.http}{path}")
        page.wait_for_selector(ready)
        problems = violations(page, axe_script)
        # Who is online and who is typing change all the time: a screen reader would read every
        # change out loud (joins and leaves are announced once, as lines of the message log).
        for chatty in page.locator("#usuarios-en-linea, #usuarios-escribiendo").all():
            if chatty.get_attribute("aria-live") not in (None, "off"):
                problems.append(f"{chatty.get_attribute('id')} is a live region")
        if problems:
            found[path] = problems
        page.close()
    for context in contexts.values():
        context.close()
    assert found == {}, "\n".join(f"{path}:\n  " + "\n  ".join(p) for path, p in found.items())
