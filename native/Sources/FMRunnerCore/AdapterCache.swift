import Foundation

/// Loaded adapters (or whatever a backend builds from one), kept per key with least-recently-used
/// eviction, so that a long-lived runner loads each adapter once. Thread-safe.
public final class AdapterCache<Value>: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var values: [String: Value] = [:]
    private var order: [String] = []

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
}
