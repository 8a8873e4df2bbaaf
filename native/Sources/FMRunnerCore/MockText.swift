import Foundation

/// Deterministic building blocks for the mock backend: a stable hash, a seeded generator, the topic of a
/// prompt, a title, distinct clarifying questions, and the mock's own token count.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a over UTF-8: stable across runs and machines (unlike `Hasher`).
public func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return hash
}

public enum MockText {
    static let templates = [
        "What is the budget for {t}?",
        "By when does {t} need to be done?",
        "Who else is involved in {t}, and who decides?",
        "What does a successful outcome of {t} look like?",
        "What constraints or must-haves apply to {t}?",
        "What has already been tried or decided about {t}?",
        "What are the biggest risks you see in {t}?",
        "Which resources or tools are available for {t}?",
        "How much of your own time can you put into {t}?",
        "Where will {t} take place?",
        "What should be avoided in {t}?",
        "How will you know {t} is finished?",
    ]

    /// The subject of a prompt: its last non-empty line without a short "Label:" prefix, whitespace
    /// collapsed, trailing punctuation dropped, at most 12 words.
    public static func topic(of prompt: String) -> String {
        let lines = prompt.split(whereSeparator: \.isNewline).map { $0.trimming(" \t") }
        var line = lines.last(where: { !$0.isEmpty }) ?? ""
        if let colon = line.firstIndex(of: ":"), line[..<colon].split(separator: " ").count <= 3,
           !line[line.index(after: colon)...].trimming(" \t").isEmpty {
            line = line[line.index(after: colon)...].trimming(" \t")
        }
        var words = line.split(whereSeparator: \.isWhitespace).prefix(12).map(String.init)
        while let last = words.last, let end = last.last, ".?!;,".contains(end) {
            let trimmed = String(last.dropLast())
            if trimmed.isEmpty { words.removeLast() } else { words[words.count - 1] = trimmed }
        }
        return words.isEmpty ? "this task" : words.joined(separator: " ")
    }

    public static func title(for topic: String) -> String { topic.prefix(1).uppercased() + topic.dropFirst() }

    /// `count` distinct questions about `topic`: template order when `rng` is nil, shuffled otherwise.
    public static func questions(count: Int, topic: String, rng: inout SplitMix64?) -> [String] {
        let subject = topic.prefix(1).lowercased() + topic.dropFirst()
        var order = Array(templates.indices)
        if var generator = rng {
            order.shuffle(using: &generator)
            rng = generator
        }
        return (0..<max(0, count)).map { i in
            let base = templates[order[i % order.count]].replacingOccurrences(of: "{t}", with: subject)
            let round = i / order.count
            return round == 0 ? base : String(base.dropLast()) + " (part \(round + 1))?"
        }
    }

    /// The mock's tokenizer: each run of letters/digits is a token, and so is every other non-space character.
    public static func tokenRanges(_ text: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace { i = text.index(after: i); continue }
            var j = text.index(after: i)
            if c.isLetter || c.isNumber {
                while j < text.endIndex, text[j].isLetter || text[j].isNumber { j = text.index(after: j) }
            }
            ranges.append(i..<j)
            i = j
        }
        return ranges
    }

    public static func tokenCount(_ text: String) -> Int { tokenRanges(text).count }

    /// The text cut after its first `limit` tokens.
    public static func truncate(_ text: String, toTokens limit: Int) -> String {
        let ranges = tokenRanges(text)
        guard ranges.count > limit else { return text }
        guard limit > 0 else { return "" }
        return String(text[..<ranges[limit - 1].upperBound])
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
