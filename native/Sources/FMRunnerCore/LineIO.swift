import Foundation

/// Reads newline-terminated lines from a file descriptor (blocking). A trailing "\r" is dropped.
/// Returns raw bytes so that invalid UTF-8 can be answered as a bad request instead of guessed at.
public final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var atEOF = false

    public init(handle: FileHandle) { self.handle = handle }

    /// The next line's bytes, or nil at end of input (a last line without "\n" is still returned).
    public func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if atEOF {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return buffer.last == 0x0D ? Array(buffer.dropLast()) : buffer
            }
            let chunk = handle.availableData
            if chunk.isEmpty { atEOF = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

/// Writes whole lines to a file descriptor; each write goes straight to the descriptor (no buffering).
public final class LineWriter: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    public init(handle: FileHandle) { self.handle = handle }

    /// Writes `line` + "\n"; false when the reader has gone away.
    @discardableResult
    public func write(_ line: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
            return true
        } catch {
            return false
        }
    }
}

/// Log lines go to stderr.
public func logToStderr(_ message: String) {
    FileHandle.standardError.write(Data("fm-runner: \(message)\n".utf8))
}
