// fm-runner: the pipeline-gen/1 runner (see native/README.md).
import FMRunnerCore
import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif

let version = "fm-runner 1.0 (\(protocolName))"

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    logToStderr("\(error)")
    FileHandle.standardError.write(Data((CommandLineOptions.usage + "\n").utf8))
    exit(2)
}

switch options.command {
case .help:
    print(CommandLineOptions.usage)
    exit(0)
case .version:
    print(version)
    exit(0)
default:
    break
}

// A reader that goes away must not kill us with SIGPIPE; writes then fail and serving stops.
signal(SIGPIPE, SIG_IGN)
// Responses get a private copy of stdout; fd 1 then points at stderr, so stray prints from any library
// can never corrupt the protocol stream.
let protocolFD = dup(STDOUT_FILENO)
dup2(STDERR_FILENO, STDOUT_FILENO)
let writer = LineWriter(handle: FileHandle(fileDescriptor: protocolFD, closeOnDealloc: false))

let backend: any GenerationBackend = options.backend == .mock
    ? MockBackend(delayMs: options.delayMs, adaptersSupported: mockAdaptersSupported())
    : makeAppleBackend()
/// FM_RUNNER_MOCK_ADAPTERS=unsupported makes the mock answer like an OS without adapter support.
func mockAdaptersSupported() -> Bool {
    ProcessInfo.processInfo.environment["FM_RUNNER_MOCK_ADAPTERS"] != "unsupported"
}

let handler = RequestHandler(backend: backend, log: { logToStderr($0) })

switch options.command {
case .serve:
    let info = await backend.info()
    logToStderr("serving \(protocolName) with backend \(info.name) (available: \(info.available.map(String.init) ?? "unknown"))")
    let answered = await ServeLoop.run(reader: LineReader(handle: .standardInput), writer: writer, handler: handler)
    logToStderr("done after \(answered) requests")
    exit(0)
case .probe:
    let (response, _) = await handler.handle(request: Request(id: "probe", op: .probe))
    writer.write(response.line)
    exit(response.ok ? 0 : 1)
case .once:
    let response: Response
    if let text = options.request {
        response = await handler.handle(line: text).response
    } else {
        let reader = LineReader(handle: .standardInput)
        var line: [UInt8]? = reader.nextLine()
        while let l = line, l.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { line = reader.nextLine() }
        if let bytes = line, let text = String(validating: bytes, as: UTF8.self) {
            response = await handler.handle(line: text).response
        } else {
            response = await handler.unreadable(line == nil ? "no request on stdin" : "request line is not valid UTF-8")
        }
    }
    writer.write(response.line)
    exit(response.ok ? 0 : 1)
case .help, .version:
    break
}
