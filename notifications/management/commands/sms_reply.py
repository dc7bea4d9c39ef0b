"""Development's stand-in for the SMS gateway's inbound side: send a villager's reply, signed as the gateway does.

python manage.py sms_reply 13812345678 1234
python manage.py sms_reply 13812345678 1234 --url http://127.0.0.1:8000/sms/inbound/
"""

import json
import secrets
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError

from notifications.inbound import signature


class Command(BaseCommand):
    help = "POST a villager's SMS reply to the inbound endpoint, signed with SMS_INBOUND_SECRET."

    def add_arguments(self, parser):
        parser.add_argument("sender", help="the villager's phone, such as 13812345678")
        parser.add_argument("text", help="what they sent, such as the 4-digit code")
        parser.add_argument("--url", default="http://127.0.0.1:8000/sms/inbound/")
        parser.add_argument("--id", default="", help="the gateway's message id (default: a random one)")

    def handle(self, *args, sender, text, url, id, **options):
        body = json.dumps({"id": id or f"dev-{secrets.token_hex(8)}", "from": sender, "text": text}).encode()
        request = urllib.request.Request(  # noqa: S310 - a URL the developer typed
            url,
            data=body,
            headers={"Content-Type": "application/json", "X-Signature": signature(body)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise CommandError(f"{url} answered {exc.code}: {exc.read().decode(errors='replace')}") from exc
        except urllib.error.URLError as exc:
            raise CommandError(f"{url} could not be reached: {exc.reason}") from exc
        self.stdout.write(f"{answer.get('id')}: {answer.get('outcome')}")
