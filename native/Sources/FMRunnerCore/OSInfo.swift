#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The host's OS build: the macOS build number (`kern.osversion`, e.g. "25A354") on Apple platforms,
/// the kernel release elsewhere; nil when it cannot be read.
public enum OSInfo {
    public static let build: String? = readBuild()

    private static func readBuild() -> String? {
        #if canImport(Darwin)
        var size = 0
        guard sysctlbyname("kern.osversion", nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: size)
        guard sysctlbyname("kern.osversion", &buffer, &size, nil, 0) == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
        #else
        var info = utsname()
        guard uname(&info) == 0 else { return nil }
        let release = withUnsafeBytes(of: &info.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return release.isEmpty ? nil : release
        #endif
    }
}
