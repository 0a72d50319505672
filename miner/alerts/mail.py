"""E-mail over SMTP: TLS (STARTTLS on the submission port, or implicit TLS from the first byte on port 465;
the certificate checked either way) then login, a multipart message with a plain-text and an HTML part.
Every piece of text in the HTML part is escaped."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from miner.alerts.channel import DeliveryError
from miner.alerts.message import Alert


def to_html(alert: Alert) -> str:
    e = html.escape
    parts = [f"<h2>{e(alert.title)}</h2>", f"<p>{e(alert.summary)}</p>"]
    if alert.facts:
        rows = "".join(f"<tr><th align='left'>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in alert.facts)
        parts.append(f"<table>{rows}</table>")
    if alert.quotes:
        parts.append("<p>What customers say:</p>")
        parts += [f"<blockquote>{e(quote)}</blockquote>" for quote in alert.quotes]
    if alert.items:
        parts.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in alert.items) + "</ul>")
    if alert.link:
        parts.append(f'<p><a href="{e(alert.link, quote=True)}">Open in Product Issue Miner</a></p>')
    return "<!doctype html><html><body style='font-family:system-ui,sans-serif'>" + "".join(parts) + "</body></html>"


def build(alert: Alert, sender: str, recipients: tuple[str, ...], delivery_id: int) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(alert.title.split())[:200]  # no header injection through a cluster name
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"miner-alert-{delivery_id}")
    message.set_content(alert.plain_text())
    message.add_alternative(to_html(alert), subtype="html")
    return message


def send(alert: Alert, *, host: str, port: int, sender: str, recipients: tuple[str, ...], user: str | None,
         password: str | None, starttls: bool, ca_file: Path | None, delivery_id: int, timeout: float,
         implicit_tls: bool = False) -> None:
    message = build(alert, sender, recipients, delivery_id)
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        # SMTP_SSL connects (and checks the certificate) in its constructor: inside the try, like the rest
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if implicit_tls \
            else smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if starttls and not implicit_tls:  # already encrypted: there is nothing to upgrade
                smtp.starttls(context=context)
                smtp.ehlo()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(f"the SMTP server does not support it: {exc}", permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipients refused: {', '.join(exc.recipients)}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        # 4xx is "try again later"; 5xx is final
        raise DeliveryError(f"SMTP {exc.smtp_code}: {text}", permanent=exc.smtp_code >= 500) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(f"the SMTP server's certificate is not trusted ({exc.verify_message})",
                            permanent=True) from None
    except TimeoutError:
        raise DeliveryError(f"the SMTP server did not answer within {timeout:g} s") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
