import { Effect, Scope, Stream } from "effect"

/**
 * Concatenates streams in order while running up to `concurrency` of them ahead, each into a queue of at most
 * `capacity` chunks: the output order is deterministic and memory is bounded by `concurrency × capacity` chunks.
 */
export const orderedConcurrently = <A, E, R>(
  streams: ReadonlyArray<Stream.Stream<A, E, R>>,
  concurrency: number,
  capacity = 4
): Stream.Stream<A, E, R> =>
  concurrency <= 1
    ? Stream.flatten(Stream.fromIterable(streams))
    : Stream.unwrapScoped(Effect.map(Effect.scope, (scope) =>
      Stream.fromIterable(streams).pipe(
        Stream.mapEffect((stream) => Scope.extend(Stream.toQueue(stream, { capacity }), scope)),
        Stream.buffer({ capacity: Math.max(1, concurrency - 2) }),
        Stream.flatMap((queue) => Stream.flattenTake(Stream.fromQueue(queue)))
      )))
