/// `fm-runner serve|once|probe [--backend apple|mock] [--delay-ms N] [--request JSON]`.
public struct CommandLineOptions: Equatable, Sendable {
    public enum Command: String, Sendable { case serve, once, probe, help, version }
    public enum BackendChoice: String, Sendable { case apple, mock }

    public var command: Command
    public var backend: BackendChoice = .apple
    public var delayMs: Int = 0
    public var request: String?

    public static let usage = """
        usage: fm-runner <command> [options]

        commands:
          serve     answer pipeline-gen/1 requests, one JSON object per stdin line, until EOF or shutdown
          once      answer one request (from --request or the first stdin line) and exit
          probe     print the backend's probe response and exit
          version   print the version

        options:
          --backend apple|mock   apple: FoundationModels (default); mock: deterministic, no model
          --delay-ms N           mock only: wait N ms before each answer (simulated latency)
          --request JSON         once only: the request object

        Responses go to stdout, logs to stderr. once/probe exit 0 when the answer is ok, 1 when it is an
        error; usage errors exit 2.
        """

    public struct UsageError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var args = arguments[...]
        guard let first = args.popFirst() else { throw UsageError(description: "missing command") }
        if first == "-h" || first == "--help" { return CommandLineOptions(command: .help) }
        if first == "--version" { return CommandLineOptions(command: .version) }
        guard let command = Command(rawValue: first) else { throw UsageError(description: "unknown command '\(first)'") }
        var options = CommandLineOptions(command: command)
        while let arg = args.popFirst() {
            var name = arg, inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            func value() throws(UsageError) -> String {
                if let inline { return inline }
                guard let next = args.popFirst() else { throw UsageError(description: "\(name) needs a value") }
                return next
            }
            switch name {
            case "-h", "--help": options.command = .help
            case "--backend":
                let v = try value()
                guard let choice = BackendChoice(rawValue: v) else { throw UsageError(description: "unknown backend '\(v)'") }
                options.backend = choice
            case "--delay-ms":
                let v = try value()
                guard let ms = Int(v), ms >= 0 else { throw UsageError(description: "--delay-ms needs an integer >= 0") }
                options.delayMs = ms
            case "--request":
                options.request = try value()
            default:
                throw UsageError(description: "unknown option '\(arg)'")
            }
        }
        if options.request != nil && options.command != .once {
            throw UsageError(description: "--request is for the once command")
        }
        return options
    }
}
