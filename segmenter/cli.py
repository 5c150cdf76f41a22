"""The command line (SPEC §5): ``python -m segmenter demo | forget | import | segments | export | serve | record``.
A thin adapter over the Segmenter class; errors print one line to stderr and exit non-zero."""
from __future__ import annotations

import argparse
import os
import sys

from .errors import SegmenterError
from .settings import DEFAULT_URL
from .settings import load as load_settings

EXIT_ERROR, EXIT_USAGE = 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line instead of the usage block."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _database_option() -> _Parser:
    common = _Parser(add_help=False)
    # SUPPRESS: the option works before or after the command without one copy resetting the other.
    common.add_argument("--database", metavar="URL", default=argparse.SUPPRESS,
                        help=f"database URL (default: $SEGMENTER_DATABASE_URL, else {DEFAULT_URL})")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _database_option()
    parser = _Parser(prog="segmenter", parents=[common],
                     description="Dynamic audience segments over a contacts database.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    demo = commands.add_parser("demo", parents=[common], help="fill the database with deterministic demo contacts")
    demo.add_argument("--size", type=int, default=20_000, metavar="N", help="how many contacts (default 20000)")
    demo.add_argument("--if-empty", action="store_true",
                      help="only when the database has no contacts yet (the quick start runs this before the app)")

    imp = commands.add_parser("import", parents=[common], help="import contacts from a CSV file (upsert by email)")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--dayfirst", action="store_true",
                     help="read ambiguous dates like 02-07-2020 as day first (default: month first)")

    commands.add_parser("segments", parents=[common], help="list saved segments with their counts")
    commands.add_parser("status", parents=[common],
                        help="the database, its contacts, and which back end answers counts and why")

    export = commands.add_parser("export", parents=[common], help="write a segment's contacts to a CSV file")
    export.add_argument("segment_id", metavar="SEGMENT_ID")
    export.add_argument("-o", "--output", required=True, metavar="FILE.csv", help="where to write ('-' for stdout)")
    export.add_argument("--order-by", metavar="FIELD", help="sort the whole export by this field (empty values last, "
                                                            "ties by id; default: id)")
    export.add_argument("--desc", action="store_true", help="with --order-by: largest (or last) first")
    export.add_argument("--columns", metavar="A,B,C",
                        help="exactly these fields, in this order (default: core fields, then custom fields)")
    export.add_argument("--bom", action="store_true",
                        help="start the file with a UTF-8 byte order mark, so Excel reads it as UTF-8")

    forget = commands.add_parser("forget", parents=[common],
                                 help="erase contacts by email (SPEC §1): gone from every later evaluation")
    forget.add_argument("emails", nargs="+", metavar="EMAIL")

    commands.add_parser("record", parents=[common],
                        help="record every segment's count and membership now, for history and changes (run it "
                             "hourly or daily from cron or a systemd timer; prunes records older than "
                             "$SEGMENTER_HISTORY_DAYS, default 400)")

    serve = commands.add_parser("serve", parents=[common], help="run the HTTP API (see docs/api.md)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    return parser


# ---- commands -----------------------------------------------------------------------------------------------

def _connect(args):
    from . import connect
    seg = connect(getattr(args, "database", None))
    seg.via = "cli"  # the audit trail records $SEGMENTER_USER (else the OS user) acting from the command line
    return seg


def cmd_demo(args) -> int:
    if args.size < 1:
        raise SegmenterError(f"--size must be at least 1, got {args.size}")
    with _connect(args) as seg:
        if args.if_empty and seg.total_contacts():
            print(f"{seg.total_contacts():,} contacts in {seg.safe_url} already; no demo data loaded")
            return 0
        n = seg.load_demo(args.size)
        print(f"loaded {n:,} demo contacts into {seg.safe_url}; {seg.total_contacts():,} contacts in all")
    return 0


def cmd_import(args) -> int:
    with _connect(args) as seg:
        report = seg.import_csv(args.file, dayfirst=True if args.dayfirst else None)
    repeated = f"  repeated emails: {report.repeated:,} rows" if report.repeated else ""
    print(f"inserted: {report.inserted:,}  updated: {report.updated:,}  rejected: {len(report.rejected):,}{repeated}")
    for name, ftype in report.new_fields.items():
        print(f"new field: {name} ({ftype})")
    for row in report.rejected:
        reason = row.reason if row.reason.startswith("line ") else f"line {row.line}: {row.reason}"
        print(f"rejected {reason}")
    return 0


def cmd_segments(args) -> int:
    with _connect(args) as seg:
        segments = seg.list_segments()
    if not segments:
        print("no segments yet")
        return 0
    rows = [(str(s["id"]), s["name"], "-" if s["contacts_count"] is None else f"{s['contacts_count']:,}")
            for s in segments]
    widths = [max(len(r[i]) for r in rows + [("id", "name", "count")]) for i in range(3)]
    for r in [("id", "name", "count")] + rows:
        print(f"{r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}".rstrip())
    for s in segments:
        if s.get("error"):  # listed, never fatal (SPEC §3): say why it has no count
            print(f"segment {s['id']} cannot be evaluated: {s['error']}")
    return 0


def cmd_status(args) -> int:
    with _connect(args) as seg:
        total = seg.total_contacts()
        status = seg.backend_status()
    print(f"database: {seg.safe_url}")
    print(f"contacts: {total:,}")
    print(f"back end: {status['backend']} ({status['mode']}): {status['reason']}")
    if status["budget"]:
        print(f"memory budget: {status['budget']}")
    if status["snapshot_bytes"]:
        print(f"snapshot in memory: {status['snapshot']}")
    return 0


def cmd_export(args) -> int:
    with _connect(args) as seg:
        # An unknown segment, field or column fails here, before a file is created; the export is audited when the
        # file is complete.
        columns = seg.export_columns(args.columns) if args.columns is not None else seg.export_columns()
        frames = seg.export_frames(args.segment_id, order_by=args.order_by, descending=args.desc,
                                   file_name="(stdout)" if args.output == "-" else args.output)
        from . import csv_export
        if args.output == "-":
            csv_export.write_csv(sys.stdout, columns, frames, bom=args.bom)
            return 0
        rows = csv_export.write_csv(args.output, columns, frames, bom=args.bom)
    print(f"wrote {rows:,} contacts to {args.output}")
    return 0


def cmd_forget(args) -> int:
    with _connect(args) as seg:
        removed = seg.delete_contacts(args.emails)
    asked = len({e.strip().lower() for e in args.emails})
    missing = f" ({asked - removed:,} of the {asked:,} emails matched no contact)" if removed < asked else ""
    print(f"erased {removed:,} contact{'s' if removed != 1 else ''}{missing}")
    return 0


def cmd_record(args) -> int:
    with _connect(args) as seg:
        total = len(seg.segment_graph().rules)
        recorded = seg.record_counts()
    skipped = f"; {total - recorded} could not be evaluated" if total > recorded else ""
    print(f"recorded {recorded:,} segment{'s' if recorded != 1 else ''}{skipped}")
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """Fail in one line before starting uvicorn, whose own bind error is a block of log lines."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except (OSError, OverflowError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).split(" (while attempting")[0]
        raise SegmenterError(f"cannot listen on {host}:{port}: {reason}") from None


def cmd_serve(args) -> int:
    import uvicorn

    from .http import create_app

    _check_can_listen(args.host, args.port)
    app = create_app(getattr(args, "database", None))
    keys = app.state.api_keys
    keyed = bool(keys)
    auth = (f"API keys required: {', '.join(f'{name} ({role})' for name, role in keys)}" if keyed
            else "no API key (SEGMENTER_API_KEY and SEGMENTER_API_KEYS unset)")
    if not keyed and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host} without SEGMENTER_API_KEY: anyone who can reach this port "
              "can read contacts and change segments", file=sys.stderr)
    print(f"serving {app.state.segmenter.safe_url} on http://{args.host}:{args.port} (docs at /docs; {auth})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


COMMANDS = {"demo": cmd_demo, "import": cmd_import, "segments": cmd_segments, "status": cmd_status,
            "export": cmd_export, "forget": cmd_forget, "serve": cmd_serve, "record": cmd_record}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SegmenterError as exc:
        message = str(exc)
    except BrokenPipeError:  # `segmenter export 1 -o - | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except OSError as exc:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, but say it is one
        if load_settings().debug:
            raise
        message = f"unexpected {exc.__class__.__name__}: {exc} (set SEGMENTER_DEBUG=1 for the traceback)"
    print(f"segmenter: error: {message.splitlines()[0] if message else 'failed'}", file=sys.stderr)
    return EXIT_ERROR
