import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile, execFileSync } from "node:child_process"
import * as EmulatorInstance from "../../emulator/EmulatorInstance.ts"
import * as NodeServer from "../../emulator/NodeServer.ts"

const hasBoto3 = (() => {
  try {
    execFileSync("python3", ["-c", "import boto3"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

if (!hasBoto3) console.warn('Boto3.test.ts: skipped, `python3 -c "import boto3"` failed (install boto3 to run it)')

/** The boto3 side: drives the emulator as a Python user would and prints what it saw as one JSON line. */
const SCRIPT = String.raw`
import json, sys, time
import boto3
from botocore.config import Config

url = sys.argv[1]
session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
ddb = session.client("dynamodb", endpoint_url=url)
streams = session.client("dynamodbstreams", endpoint_url=url)
s3 = session.client("s3", endpoint_url=url, config=Config(s3={"addressing_style": "path"}))

table = ddb.create_table(
    TableName="boto_orders",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)["TableDescription"]
ddb.put_item(TableName="boto_orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
ddb.put_item(TableName="boto_orders", Item={"pk": {"S": "b"}, "n": {"N": "10"}})
ddb.update_item(
    TableName="boto_orders",
    Key={"pk": {"S": "a"}},
    UpdateExpression="SET n = n + :one",
    ExpressionAttributeValues={":one": {"N": "1"}},
)
ddb.delete_item(TableName="boto_orders", Key={"pk": {"S": "a"}})
pitr = ddb.update_continuous_backups(
    TableName="boto_orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]

stream_arn = table["LatestStreamArn"]
description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
records = []
for shard in description["Shards"]:
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        for record in page["Records"]:
            data = record["dynamodb"]
            records.append({
                "eventName": record["eventName"],
                "key": data["Keys"]["pk"]["S"],
                "sequenceNumber": data["SequenceNumber"],
                "oldImage": data.get("OldImage"),
                "newImage": data.get("NewImage"),
                "viewType": data["StreamViewType"],
            })
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")

s3.create_bucket(Bucket="boto-exports")
export = ddb.export_table_to_point_in_time(
    TableArn=table["TableArn"], S3Bucket="boto-exports", S3Prefix="snap", ExportFormat="DYNAMODB_JSON"
)["ExportDescription"]
statuses = [export["ExportStatus"]]
deadline = time.time() + 20
while statuses[-1] == "IN_PROGRESS" and time.time() < deadline:
    time.sleep(0.1)
    statuses.append(ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]["ExportStatus"])
final = ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-exports", Prefix="snap/"):
    keys.extend(item["Key"] for item in page.get("Contents", []))

print(json.dumps({
    "streamStatus": description["StreamStatus"],
    "shards": len(description["Shards"]),
    "pitr": pitr,
    "records": records,
    "exportArn": export["ExportArn"],
    "statuses": statuses,
    "final": {
        "status": final["ExportStatus"],
        "itemCount": final.get("ItemCount"),
        "manifest": final.get("ExportManifest"),
        "bucket": final.get("S3Bucket"),
    },
    "keys": keys,
}, default=str))
`

interface Seen {
  readonly streamStatus: string
  readonly shards: number
  readonly pitr: string
  readonly records: ReadonlyArray<{
    readonly eventName: string
    readonly key: string
    readonly sequenceNumber: string
    readonly oldImage?: Record<string, unknown> | null
    readonly newImage?: Record<string, unknown> | null
    readonly viewType: string
  }>
  readonly exportArn: string
  readonly statuses: ReadonlyArray<string>
  readonly final: { status: string; itemCount?: number; manifest?: string; bucket?: string }
  readonly keys: ReadonlyArray<string>
}

const python = (url: string) =>
  Effect.async<Seen, Error>((resume) => {
    const child = execFile(
      "python3",
      ["-c", SCRIPT, url],
      { timeout: 60_000, env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" } },
      (error, stdout, stderr) => {
        if (error) return resume(Effect.fail(new Error(`boto3 script failed: ${error.message}\n${stderr}`)))
        try {
          resume(Effect.succeed(JSON.parse(stdout.trim().split("\n").pop()!) as Seen))
        } catch {
          resume(Effect.fail(new Error(`boto3 script printed no JSON:\n${stdout}\n${stderr}`)))
        }
      }
    )
    return Effect.sync(() => child.kill())
  })

describe.skipIf(!hasBoto3)("boto3", () => {
  it.scoped("tables, streams, PITR exports and S3 through boto3", () =>
    Effect.gen(function* () {
      const instance = yield* EmulatorInstance.make({ clock: "real", exportDurationMs: 200 })
      const server = yield* NodeServer.serve(instance.emulator)
      const seen = yield* python(server.url)

      assert.strictEqual(seen.streamStatus, "ENABLED")
      assert.strictEqual(seen.pitr, "ENABLED")
      assert.isAtLeast(seen.shards, 1)
      const byKey = (key: string) =>
        seen.records.filter((r) => r.key === key).sort((
          x,
          y
        ) => (BigInt(x.sequenceNumber) < BigInt(y.sequenceNumber) ? -1 : 1))
      const a = byKey("a")
      assert.deepStrictEqual(a.map((r) => r.eventName), ["INSERT", "MODIFY", "REMOVE"])
      assert.deepStrictEqual(a[0]!.newImage, { pk: { S: "a" }, n: { N: "1" } })
      assert.deepStrictEqual(a[1]!.oldImage, { pk: { S: "a" }, n: { N: "1" } })
      assert.deepStrictEqual(a[1]!.newImage, { pk: { S: "a" }, n: { N: "2" } })
      assert.deepStrictEqual(a[2]!.oldImage, { pk: { S: "a" }, n: { N: "2" } })
      assert.isTrue(a[2]!.newImage === undefined || a[2]!.newImage === null)
      assert.deepStrictEqual(byKey("b").map((r) => r.eventName), ["INSERT"])
      assert.strictEqual(seen.records.length, 4)
      assert.isTrue(seen.records.every((r) => r.viewType === "NEW_AND_OLD_IMAGES"))

      assert.strictEqual(seen.statuses[0], "IN_PROGRESS")
      assert.strictEqual(seen.final.status, "COMPLETED")
      assert.strictEqual(seen.final.bucket, "boto-exports")
      assert.strictEqual(seen.final.itemCount, 1)
      const id = seen.exportArn.slice(seen.exportArn.lastIndexOf("/") + 1)
      assert.isTrue(seen.keys.length > 0)
      assert.isTrue(seen.keys.every((key) => key.startsWith(`snap/AWSDynamoDB/${id}/`)), seen.keys.join(", "))
      assert.include(seen.keys, `snap/AWSDynamoDB/${id}/manifest-summary.json`)
      assert.include(seen.keys, seen.final.manifest!)
      assert.isTrue(seen.keys.some((key) => key.endsWith(".json.gz")), seen.keys.join(", "))
    }), { timeout: 90_000 })
})
