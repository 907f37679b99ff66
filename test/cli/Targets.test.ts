import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as Targets from "../../adapters/cli/Targets.ts"

const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) assert.fail(`expected a value, got ${String(either.left)}`)
  return (either as Either.Right<E, A>).right
}

const reason = <A>(either: Either.Either<A, { readonly message: string }>): string => {
  if (Either.isRight(either)) assert.fail(`expected a usage error, got ${JSON.stringify(either.right)}`)
  return (either as Either.Left<{ readonly message: string }, A>).left.message
}

describe("Targets", () => {
  it("parses every sink form", () => {
    assert.deepStrictEqual(right(Targets.parseSink("jsonl:-")), { _tag: "Jsonl", path: "-" })
    assert.deepStrictEqual(right(Targets.parseSink("jsonl:out/a.jsonl")), { _tag: "Jsonl", path: "out/a.jsonl" })
    assert.deepStrictEqual(right(Targets.parseSink("pglite:./data")), { _tag: "Pglite", dataDir: "./data" })
    for (const url of ["postgres://u:p@h:5432/db", "postgresql://h/db?sslmode=require", "postgres:///db?host=/tmp"]) {
      assert.deepStrictEqual(right(Targets.parseSink(url)), { _tag: "Postgres", url })
    }
  })

  it("refuses bad sinks with the forms it takes, without the password", () => {
    assert.include(reason(Targets.parseSink("mysql://x")), "expected jsonl:- (standard output), jsonl:PATH")
    assert.include(reason(Targets.parseSink("jsonl:")), "jsonl:PATH or jsonl:-")
    assert.include(reason(Targets.parseSink("pglite:")), "pglite:DIR")
    const noHost = reason(Targets.parseSink("postgres://u:hunter22@/db"))
    assert.include(noHost, "expected postgres://user:password@host:port/database")
    assert.notInclude(noHost, "hunter22")
    assert.include(noHost, "postgres://u:***@/db")
  })

  it("checkpoints: sink only for SQL sinks; S3 needs a key; defaults by sink", () => {
    const pglite = right(Targets.parseSink("pglite:d"))
    const jsonl = right(Targets.parseSink("jsonl:out.jsonl"))
    const stdout = right(Targets.parseSink("jsonl:-"))
    assert.deepStrictEqual(right(Targets.parseCheckpoint("sink", pglite)), { _tag: "Sink" })
    assert.include(reason(Targets.parseCheckpoint("sink", jsonl)), "a jsonl sink does not commit checkpoints")
    assert.deepStrictEqual(right(Targets.parseCheckpoint("file:c.json", jsonl)), { _tag: "File", path: "c.json" })
    assert.deepStrictEqual(right(Targets.parseCheckpoint("s3://bkt/k/c.json", jsonl)), {
      _tag: "S3",
      bucket: "bkt",
      key: "k/c.json"
    })
    assert.include(reason(Targets.parseCheckpoint("s3://bucket", jsonl)), "s3://BUCKET/key")
    assert.include(reason(Targets.parseCheckpoint("s3://bucket/", jsonl)), "name the key")
    assert.include(reason(Targets.parseCheckpoint("x", jsonl)), "expected file:PATH, s3://bucket/key or sink")
    assert.deepStrictEqual(Targets.defaultCheckpoint(pglite, "orders"), { _tag: "Sink" })
    assert.deepStrictEqual(Targets.defaultCheckpoint(jsonl, "orders"), {
      _tag: "File",
      path: "out.jsonl.checkpoint.json"
    })
    assert.deepStrictEqual(Targets.defaultCheckpoint(stdout, "arn:aws:dynamodb:us-east-1:1:table/orders"), {
      _tag: "File",
      path: "./backstream-data/orders.checkpoint.json"
    })
  })

  it("spools and the defaults named after the table (from its ARN too)", () => {
    assert.deepStrictEqual(right(Targets.parseSpool("dir:/var/spool")), { _tag: "Dir", path: "/var/spool" })
    assert.deepStrictEqual(right(Targets.parseSpool("s3://bkt/spool/orders/")), {
      _tag: "S3",
      bucket: "bkt",
      prefix: "spool/orders"
    })
    assert.include(reason(Targets.parseSpool("/tmp/x")), "expected dir:PATH or s3://bucket/prefix")
    assert.deepStrictEqual(Targets.defaultSpool("orders"), { _tag: "Dir", path: "./backstream-spool/orders" })
    assert.deepStrictEqual(Targets.defaultSink("arn:aws:dynamodb:eu-west-1:123:table/orders"), {
      _tag: "Pglite",
      dataDir: "./backstream-data/orders"
    })
  })

  it("redacts passwords in connection strings and query parameters", () => {
    assert.strictEqual(Targets.redact("postgres://u:p%40ss@h:1/db"), "postgres://u:***@h:1/db")
    assert.strictEqual(
      Targets.redact("at postgres://u:pw@h/db?password=x&sslmode=require: refused"),
      "at postgres://u:***@h/db?password=***&sslmode=require: refused"
    )
    assert.strictEqual(Targets.redact("postgres://u@h/db"), "postgres://u@h/db")
    assert.strictEqual(Targets.describeSink(right(Targets.parseSink("postgres://u:pw@h/db"))), "postgres://u:***@h/db")
    const secrets = Targets.secretsOf("postgres://u:p%40ss@h:1/db?sslpassword=other")
    assert.includeMembers([...secrets], ["p%40ss", "p@ss", "other"])
    assert.strictEqual(Targets.scrub("the server said p@ss is wrong", secrets), "the server said *** is wrong")
  })
})
