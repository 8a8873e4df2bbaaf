import Foundation

/// Runs `operation`, or fails with a `timeout` RunnerError when it has not finished within `seconds`.
/// The answer comes as soon as the deadline passes even if the operation ignores cancellation
/// (it is cancelled and left to finish in the background). nil seconds: no deadline.
public func withTimeout<T: Sendable>(
    seconds: Double?, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let seconds else { return try await operation() }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let race = Race(continuation)
        race.add(Task {
            do { race.finish(.success(try await operation())) } catch { race.finish(.failure(error)) }
        })
        race.add(Task {
            let nanos = UInt64(min(seconds, 1e6) * 1e9)
            do { try await Task.sleep(nanoseconds: nanos) } catch { return }
            race.finish(.failure(RunnerError(
                .timeout, "no answer within the request's timeout_s=\(formatSeconds(seconds))", retryable: true)))
        })
    }
}

func formatSeconds(_ s: Double) -> String {
    s.rounded() == s && abs(s) < 1e15 ? String(Int64(s)) : String(s)
}

/// First finisher resumes the continuation and cancels the other tasks.
private final class Race<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var tasks: [Task<Void, Never>] = []

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = continuation }

    func add(_ task: Task<Void, Never>) {
        lock.lock()
        let done = continuation == nil
        if !done { tasks.append(task) }
        lock.unlock()
        if done { task.cancel() }
    }

    func finish(_ result: Result<T, Error>) {
        lock.lock()
        guard let c = continuation else { lock.unlock(); return }
        continuation = nil
        let others = tasks
        tasks = []
        lock.unlock()
        others.forEach { $0.cancel() }
        c.resume(with: result)
    }
}
