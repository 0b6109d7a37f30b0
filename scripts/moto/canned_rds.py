#!/usr/bin/env python3
"""Queue ONE canned RDS Data ExecuteStatement result on a moto server (stdlib only).

Usage:
  canned_rds.py --endpoint http://127.0.0.1:5005 --records '[[{"longValue": 1}, {"stringValue": "alpha"}]]' \
      [--columns '[{"name": "id", "typeName": "int8", "type": -5}, {"name": "name", "typeName": "text", "type": 12}]'] \
      [--updated N] [--generated JSON] [--formatted STRING] [--region ap-northeast-1] [--account 123456789012]
  canned_rds.py --endpoint ... --result '{"records": [...], "columnMetadata": [...], "numberOfRecordsUpdated": 0}'

Shapes (as moto stores and returns them verbatim; checked against moto 5.2.5 + boto3):
  records         list of rows; each row a list of Field objects, exactly one key each:
                  {"longValue": 1} {"stringValue": "x"} {"doubleValue": 0.5}
                  {"booleanValue": true} {"isNull": true} {"blobValue": "<base64>"}
                  {"arrayValue": {"stringValues": ["a", "b"]}}  (also longValues, doubleValues,
                  booleanValues, arrayValues)
                  Shorthand accepted by this script only: a bare JSON scalar in a row is
                  turned into its Field (int -> longValue, float -> doubleValue, str ->
                  stringValue, bool -> booleanValue, null -> isNull).
  columnMetadata  list of {"name", "typeName", "type" (JDBC type code: -5 int8, 4 int4,
                  12 text/varchar, 8 float8, -7 bool, 93 timestamp, -2 bytea), optional
                  "label", "nullable", "precision", "scale", "schemaName", "tableName",
                  "isSigned", "isCaseSensitive", "isCurrency", "isAutoIncrement",
                  "arrayBaseColumnType"}. A bare string in --columns means {"name": s}.
                  moto returns it whatever includeResultMetadata says (AWS only when true).
  numberOfRecordsUpdated  integer; this script sends 0 unless told otherwise, because moto's
                  own default result carries JSON nulls for every field but records.

moto semantics that tests must plan around (moto 5.2.5):
  * The queue is per account AND region. moto's endpoint defaults to us-east-1, so this
    script sends region ap-northeast-1 (the project's region) unless --region says otherwise;
    a result queued for another region is never seen.
  * ExecuteStatement looks up (resourceArn, sql): a pair seen before returns the result it
    got the first time, forever (until /moto-api/reset). A new pair pops the LAST queued
    result (LIFO). With an empty queue the answer is {"records": []}.
    => queue one result, run the statement, repeat; and use an SQL text no earlier test
       used (e.g. add a /* test-name */ comment) to get a fresh result.
  * Nothing is validated: database, secretArn, resourceArn and the SQL are not looked at.

Exit 0 when moto answered 201; the request body sent is echoed on stderr.
"""

import argparse
import json
import sys
import urllib.parse
import urllib.request

FIELD_KEYS = {"longValue", "stringValue", "doubleValue", "booleanValue", "isNull",
              "blobValue", "arrayValue"}


def to_field(value):
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in FIELD_KEYS:
            raise ValueError(f"not an RDS Data Field (one of {sorted(FIELD_KEYS)}): {value!r}")
        return value
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    raise ValueError(f"cannot turn {value!r} into an RDS Data Field")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--endpoint", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--records", help="JSON list of rows (lists of Fields or scalars)")
    src.add_argument("--result", help="one whole result object, sent as given")
    ap.add_argument("--columns", help="JSON list of column metadata objects or names")
    ap.add_argument("--updated", type=int, default=0, help="numberOfRecordsUpdated (default 0)")
    ap.add_argument("--generated", help="JSON list of Fields for generatedFields")
    ap.add_argument("--formatted", help="formattedRecords string")
    ap.add_argument("--region", default="ap-northeast-1")
    ap.add_argument("--account", default="123456789012")
    args = ap.parse_args()

    endpoint = args.endpoint.rstrip("/")
    if urllib.parse.urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")

    if args.result:
        result = json.loads(args.result)
        if not isinstance(result, dict):
            sys.exit("--result must be a JSON object")
    else:
        rows = json.loads(args.records)
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            sys.exit("--records must be a JSON list of rows (lists)")
        try:
            result = {"records": [[to_field(v) for v in row] for row in rows]}
        except ValueError as e:
            sys.exit(str(e))
        cols = json.loads(args.columns) if args.columns else []
        result["columnMetadata"] = [{"name": c} if isinstance(c, str) else c for c in cols]
        result["numberOfRecordsUpdated"] = args.updated
        if args.generated:
            result["generatedFields"] = [to_field(v) for v in json.loads(args.generated)]
        if args.formatted is not None:
            result["formattedRecords"] = args.formatted

    body = json.dumps({"account_id": args.account, "region": args.region, "results": [result]})
    req = urllib.request.Request(f"{endpoint}/moto-api/static/rds-data/statement-results",
                                 data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    print(f"[canned-rds] {status} {body}", file=sys.stderr)
    return 0 if status == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
