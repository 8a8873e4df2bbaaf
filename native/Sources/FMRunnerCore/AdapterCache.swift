import Foundation

/// Loaded adapters (or whatever a backend builds from one), kept per content digest with
/// least-recently-used eviction, so that a long-lived runner loads each adapter once however many paths
/// (worktrees) it is used from. `loads` counts successful loads (reported by probe as `adapter_loads`).
/// Thread-safe.
public final class AdapterCache<Value>: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var values: [String: Value] = [:]
    private var order: [String] = []
    private var loadCount = 0

    public init(capacity: Int = 4) { self.capacity = max(1, capacity) }

    /// The cached value for `key`, or the one `load` makes (then cached). `load` errors are not cached.
    public func value(for key: String, load: () throws -> Value) rethrows -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let hit = values[key] {
            order.removeAll { $0 == key }
            order.append(key)
            return hit
        }
        let loaded = try load()
        loadCount += 1
        values[key] = loaded
        order.append(key)
        while order.count > capacity { values.removeValue(forKey: order.removeFirst()) }
        return loaded
    }

    public var keys: [String] {
        lock.lock()
        defer { lock.unlock() }
        return order
    }

    /// Adapters loaded so far by this process (a reload after eviction counts again).
    public var loads: Int {
        lock.lock()
        defer { lock.unlock() }
        return loadCount
    }
}
