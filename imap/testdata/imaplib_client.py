"""Drive Gatehouse's IMAP server with Python's imaplib (a client nobody here wrote).

Usage: imaplib_client.py HOST PORT USER PASSWORD
Exits non-zero with a message on the first mismatch.
"""
import imaplib
import re
import sys
import time

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def ok(resp, what):
    typ, data = resp
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


M = imaplib.IMAP4(host, port)
caps = M.capabilities
check("IMAP4REV1" in caps or "IMAP4rev1" in caps, "capabilities %r" % (caps,))
try:
    M.login(user, "not the password")
    check(False, "login with a wrong password succeeded")
except imaplib.IMAP4.error:
    pass
ok(M.login(user, password), "login")

listing = b"\n".join(ok(M.list(), "list"))
check(b'"/" INBOX' in listing, "INBOX in LIST: %r" % listing)
check(b"\\Sent" in listing and b"\\Trash" in listing, "special use in LIST: %r" % listing)
check(b"Contacts" not in listing, "contacts folder visible: %r" % listing)

raw = (b"From: Python <py@example.org>\r\n"
       b"To: " + user.encode() + b"\r\n"
       b"Subject: =?utf-8?q?imaplib_=C3=A9t=C3=A9?=\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n"
       b"Content-Transfer-Encoding: 8bit\r\n"
       b"\r\n"
       b"Bonjour, \xc3\xa9t\xc3\xa9 ensoleill\xc3\xa9.\r\n")
typ, data = M.append("INBOX", "(\\Seen $Py)", imaplib.Time2Internaldate(time.time()), raw)
check(typ == "OK", "append: %r" % data)
m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
check(m is not None, "APPENDUID in %r" % data)
uid = m.group(2)

# RFC 3501 2.3.2: appended while nobody had INBOX selected, the message is recent for
# the first read-write session to select it, and for no later one.
typ, data = M.status("INBOX", "(RECENT)")
check(typ == "OK" and b"RECENT 1" in data[0], "status recent before select: %r" % data)

ok(M.create("Py/Sub"), "create")
n = int(ok(M.select("INBOX"), "select")[0])
check(n >= 1, "select count %d" % n)
check(M.response("RECENT")[1] == [b"1"], "RECENT at select")
M2 = imaplib.IMAP4(host, port)
ok(M2.login(user, password), "second login")
ok(M2.select("INBOX"), "second select")
check(M2.response("RECENT")[1] == [b"0"], "RECENT at the second select")
M2.logout()

data = ok(M.uid("FETCH", uid, "(UID FLAGS RFC822.SIZE BODY.PEEK[])"), "uid fetch")
check(isinstance(data[0], tuple), "fetch literal %r" % data)
meta, body = data[0]
check(body == raw, "BODY[] not byte-exact: %r" % body)
check(b"RFC822.SIZE %d" % len(raw) in meta, "size in %r" % meta)
check(b"\\Seen" in meta and b"$Py" in meta, "flags in %r" % meta)

ok(M.uid("STORE", uid, "+FLAGS", "(\\Flagged)"), "store")
check(ok(M.uid("SEARCH", None, "FLAGGED"), "search flagged")[0].split() == [uid], "search flagged")
check(ok(M.uid("SEARCH", None, "SUBJECT", "imaplib"), "search subject")[0].split() == [uid], "search subject")
M.literal = "ensoleillé".encode("utf-8")
found = ok(M.uid("SEARCH", "CHARSET", "UTF-8", "BODY"), "search body utf-8")[0].split()
check(found == [uid], "search body utf-8: %r" % found)

data = ok(M.uid("COPY", uid, "Py/Sub"), "copy")
typ, data = M.status("Py/Sub", "(MESSAGES UIDNEXT)")
check(typ == "OK" and b"MESSAGES 1" in data[0], "status after copy: %r" % data)

ok(M.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"), "store deleted")
ok(M.expunge(), "expunge")
check(ok(M.uid("SEARCH", None, "ALL"), "search all")[0].split().count(uid) == 0, "expunged message still there")

typ, data = M.select("Nope")
check(typ == "NO", "select missing mailbox: %r" % data)
ok(M.select("Py/Sub", readonly=True), "examine")
typ, data = M.store("1", "+FLAGS", "(\\Deleted)")
check(typ == "NO", "store in a read-only mailbox: %r" % data)
M.logout()
print("OK")
