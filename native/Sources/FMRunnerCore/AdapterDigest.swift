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

    /// The digest of the adapter at `path` (a directory or a single file).
    public static func digest(of path: String) throws(RunnerError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RunnerError(.adapterNotFound, "adapter not found: \(path)")
        }
        if isDirectory.boolValue { return SHA256.hex(manifest(try entries(ofDirectory: path))) }
        guard let digest = SHA256.hex(fileAt: path) else {
            throw RunnerError(.adapterInvalid, "cannot read \(path) to hash the adapter")
        }
        return digest
    }
}
