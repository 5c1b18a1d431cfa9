"""The management commands: create_room, list_rooms and load_demo."""

import io
import re

import pytest
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from charla.chat import selectors, services
from charla.chat.models import Membership, Room

pytestmark = pytest.mark.django_db


def authenticate(**credentials):
    """A password login as the login page makes it (django-axes counts failures per request)."""
    return django_authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


# create_room.


def test_create_room_makes_a_private_room_owned_by_the_given_user(ana):
    output = run("create_room", "ops", owner="ana", private=True, description="On call")
    room = Room.objects.get(name="ops")
    assert room.is_private and room.description == "On call"
    assert Membership.objects.get(room=room).user == ana
    assert selectors.is_owner(room=room, user=ana)
    assert "ops" in output and "private" in output


def test_create_room_is_public_unless_asked(ana):
    run("create_room", "lobby", owner="ana")
    assert Room.objects.get(name="lobby").is_private is False


def test_create_room_from_the_command_line_syntax(ana):
    run("create_room", "ops", "--owner", "ana", "--private")
    assert Room.objects.get(name="ops").is_private


def test_create_room_refuses_a_taken_name(ana, luis):
    run("create_room", "ops", owner="ana", private=True)
    with pytest.raises(CommandError, match="name"):
        run("create_room", "ops", owner="luis")
    assert Room.objects.filter(name="ops").count() == 1
    assert not Membership.objects.filter(user=luis).exists()


def test_create_room_refuses_an_unknown_owner():
    with pytest.raises(CommandError, match="nadie"):
        run("create_room", "ops", owner="nadie")
    assert not Room.objects.exists()


def test_create_room_refuses_an_invalid_name(ana):
    with pytest.raises(CommandError, match="name"):
        run("create_room", "a b", owner="ana")
    assert not Room.objects.exists()


# list_rooms.


def test_list_rooms_shows_each_room_with_its_kind_and_counts(ana, luis):
    lobby = services.room_create(creator=ana, name="lobby")
    ops = services.room_create(creator=luis, name="ops", is_private=True)
    services.room_open(user=luis, name="lobby")
    for text in ("uno", "dos", "tres"):
        services.message_send(room=lobby, author=ana, content=text)
    services.message_send(room=ops, author=luis, content="solo")

    lines = run("list_rooms").splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert lines[0].split() == ["name", "kind", "members", "messages", "owner"]
    assert rows == {
        "lobby": ["lobby", "public", "2", "3", "ana"],
        "ops": ["ops", "private", "1", "1", "luis"],
    }


def test_list_rooms_with_no_rooms_prints_only_the_header():
    assert len(run("list_rooms").splitlines()) == 1


# load_demo.

PASSWORD_LINE = re.compile(r"user\s+(\S+)\s+password\s+(\S+)")


def demo_passwords(output: str) -> dict[str, str]:
    return dict(PASSWORD_LINE.findall(output))


@pytest.fixture(autouse=True)
def demo_passwords_here(settings, tmp_path):
    """load_demo keeps its passwords beside the project (BASE_DIR): here, a folder of the test's own."""
    settings.BASE_DIR = tmp_path


def test_load_demo_creates_users_whose_printed_passwords_work(settings):
    settings.DEBUG = True
    passwords = demo_passwords(run("load_demo"))
    assert set(passwords) == {"ana", "luis"}
    for username, password in passwords.items():
        user = authenticate(username=username, password=password)
        assert user is not None and user.get_username() == username
        assert authenticate(username=username, password=password + "x") is None


def test_load_demo_creates_the_general_room_with_both_users(settings):
    settings.DEBUG = True
    run("load_demo")
    room = Room.objects.get(name="general")
    assert not room.is_private
    assert sorted(m.user.get_username() for m in Membership.objects.filter(room=room)) == ["ana", "luis"]


def test_load_demo_twice_keeps_one_room_and_the_same_passwords_so_sessions_survive_a_restart(settings, tmp_path):
    settings.DEBUG = True
    first = demo_passwords(run("load_demo"))
    hashes = {u.username: u.password for u in User.objects.all()}  # a session is bound to its user's hash
    second = demo_passwords(run("load_demo"))
    assert second == first, "make run prints the same passwords on every start"
    assert {u.username: u.password for u in User.objects.all()} == hashes, "open sessions stay valid"
    assert Room.objects.filter(name="general").count() == 1
    assert Membership.objects.filter(room__name="general").count() == 2
    assert (tmp_path / ".demo-passwords.json").stat().st_mode & 0o077 == 0, "only its owner may read the file"


def test_load_demo_leaves_a_password_its_owner_changed(settings):
    settings.DEBUG = True
    run("load_demo")
    luis = User.objects.get(username="luis")
    luis.set_password("mine-now-93")
    luis.save()
    output = run("load_demo")
    assert "luis" not in demo_passwords(output) and "luis   keeps the password its owner chose" in output
    assert authenticate(username="luis", password="mine-now-93") is not None


def test_load_demo_new_passwords_on_request(settings):
    settings.DEBUG = True
    first = demo_passwords(run("load_demo"))
    second = demo_passwords(run("load_demo", "--new-passwords"))
    for username in ("ana", "luis"):
        assert second[username] != first[username]
        assert authenticate(username=username, password=first[username]) is None
        assert authenticate(username=username, password=second[username]) is not None


def test_load_demo_keeps_an_existing_general_rooms_messages(settings, ana):
    settings.DEBUG = True
    room = services.room_create(creator=ana, name="general")
    services.message_send(room=room, author=ana, content="hola")
    run("load_demo")
    assert Room.objects.get(name="general").messages.count() == 1


def test_load_demo_refuses_with_debug_off(settings, ana):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        run("load_demo")
    assert not Room.objects.exists()
    assert authenticate(username="ana", password="pw-ana") is not None, "ana's password must not be reset"


def test_load_demo_runs_with_debug_off_when_forced(settings):
    settings.DEBUG = False
    passwords = demo_passwords(run("load_demo", force=True))
    assert Room.objects.filter(name="general").exists()
    assert authenticate(username="luis", password=passwords["luis"]) is not None


def test_load_demo_leaves_the_password_of_an_account_it_did_not_make(settings, ana):
    settings.DEBUG = True
    output = run("load_demo")
    assert "ana    keeps its password" in output and "ana" not in demo_passwords(output)
    assert authenticate(username="ana", password="pw-ana") is not None, "a real ana's password is hers"
    assert "luis" in demo_passwords(output), "the account it made gets a printed password"
