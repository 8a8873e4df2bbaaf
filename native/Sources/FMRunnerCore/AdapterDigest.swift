import Foundation

/// The content digest of an adapter, the key loaded adapters are cached by (pipeline-gen/1, issue 9):
/// - a file (a GGUF LoRA): the sha256 of its bytes;
/// - an `.fmadapter` directory: the sha256 of the manifest made of one line per regular file below it,
///   `"<relative path>\t<size in bytes>\t<sha256 of the file>\n"`, relative paths with "/" separators,
///   lines sorted by the UTF-8 bytes of the path. Symbolic links are followed; directories themselves
///   do not appear. `loop/runners/protocol.py` (`adapter_digest`) computes the same value in Python.
public enum AdapterDigest {
    public struct Entry: Equatable, Sendable {
        public var path: String
        public var size: Int64
        public var sha256: String
    }

    /// The manifest entries of a directory, sorted; throws adapter_invalid naming the unreadable file.
    public static func entries(ofDirectory root: String) throws(RunnerError) -> [Entry] {
        let base = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
        guard let walker = FileManager.default.enumerator(atPath: base.path) else {
            throw RunnerError(.adapterInvalid, "cannot list the adapter directory \(root)")
        }
        var entries: [Entry] = []
        while let relative = walker.nextObject() as? String {
            let full = base.appendingPathComponent(relative).path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            guard let digest = SHA256.hex(fileAt: full) else {
                throw RunnerError(.adapterInvalid, "cannot read \(full) to hash the adapter")
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? NSNumber)?.int64Value ?? 0
            entries.append(Entry(path: relative, size: size, sha256: digest))
        }
        return entries.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
    }

    public static func manifest(_ entries: [Entry]) -> String {
        entries.map { "\($0.path)\t\($0.size)\t\($0.sha256)\n" }.joined()
    }

    /// The digest of the adapter at `path` (a directory or a single file). Remembered per path while the
    /// size and modification time of every file stay the same, so a 160 MB adapter used by many requests
    /// is hashed once, and one rewritten in place is hashed again.
    public static func digest(of path: String) throws(RunnerError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RunnerError(.adapterNotFound, "adapter not found: \(path)")
        }
        let stamp = stamps(of: path, directory: isDirectory.boolValue)
        if let known = memo.lookup(path, stamp) { return known }
        let digest: String
        if isDirectory.boolValue {
            digest = SHA256.hex(manifest(try entries(ofDirectory: path)))
        } else {
            guard let value = SHA256.hex(fileAt: path) else {
                throw RunnerError(.adapterInvalid, "cannot read \(path) to hash the adapter")
            }
            digest = value
        }
        memo.store(path, stamp, digest)
        return digest
    }

    /// "relative path, size, mtime" of every file below `path` (or of the file itself).
    static func stamps(of path: String, directory: Bool) -> String {
        func stamp(_ full: String, _ name: String) -> String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: full)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(name)\t\(size)\t\(modified)"
        }
        guard directory else { return stamp(path, "") }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        return names.map { stamp((path as NSString).appendingPathComponent($0), $0) }.joined(separator: "\n")
    }

    final class Memo: @unchecked Sendable {
        private let lock = NSLock()
        private var known: [String: (stamp: String, digest: String)] = [:]

        func lookup(_ path: String, _ stamp: String) -> String? {
            lock.lock()
            defer { lock.unlock() }
            return known[path].flatMap { $0.stamp == stamp ? $0.digest : nil }
        }

        func store(_ path: String, _ stamp: String, _ digest: String) {
            lock.lock()
            defer { lock.unlock() }
            known[path] = (stamp, digest)
        }
    }

    static let memo = Memo()
}
