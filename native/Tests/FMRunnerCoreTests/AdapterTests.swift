@testable import FMRunnerCore
import Foundation
import XCTest

/// Adapters by content: the digest, the cache keyed by it (one load per adapter per process), malformed
/// metadata.json, and adapter_unsupported on a backend without adapter support.
final class AdapterTests: XCTestCase {
    func testSHA256KnownVectorsAndStreaming() {
        XCTAssertEqual(SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let long = Data((0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var streamed = SHA256()
        for start in stride(from: 0, to: long.count, by: 4093) {
            streamed.update(long[start..<min(start + 4093, long.count)])
        }
        XCTAssertEqual(streamed.finalize(), SHA256.hex(long))
    }

    func testDirectoryDigestIsTheSha256OfTheSortedManifest() throws {
        let path = try makeAdapter(weights: "WEIGHTS")
        try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
        try Data("draft".utf8).write(to: URL(fileURLWithPath: path + "/sub/draft.mil"))
        let metadata = try String(contentsOfFile: path + "/metadata.json", encoding: .utf8)
        let manifest = "adapter_weights.bin\t7\t\(SHA256.hex("WEIGHTS"))\n"
            + "metadata.json\t\(metadata.utf8.count)\t\(SHA256.hex(metadata))\n"
            + "sub/draft.mil\t5\t\(SHA256.hex("draft"))\n"
        XCTAssertEqual(AdapterDigest.manifest(try AdapterDigest.entries(ofDirectory: path)), manifest)
        XCTAssertEqual(try AdapterDigest.digest(of: path), SHA256.hex(manifest))
    }

    func testSameContentAtTwoPathsHasOneDigestAndAChangedByteAnother() throws {
        let a = try makeAdapter(weights: "W1"), b = try makeAdapter(weights: "W1"), c = try makeAdapter(weights: "W2")
        XCTAssertEqual(try AdapterDigest.digest(of: a), try AdapterDigest.digest(of: b))
        XCTAssertNotEqual(try AdapterDigest.digest(of: a), try AdapterDigest.digest(of: c))
        XCTAssertEqual(try AdapterResolver.resolve(AdapterRef(path: a, format: .fmadapter)).cacheKey,
                       try AdapterDigest.digest(of: a))
    }

    func testTheMockLoadsOneAdapterOnceFromManyPaths() async throws {
        let mock = MockBackend()
        let copies = try (0..<5).map { _ in try makeAdapter(weights: "SAME") }
        var answers = Set<String>()
        for path in copies {
            let g = try await mock.generate(generateRequest(adapter: AdapterRef(path: path, format: .fmadapter)))
            answers.insert(g.text ?? "")
        }
        XCTAssertEqual(answers.count, 1, "the same adapter gives the same greedy answer from every path")
        var info = await mock.info()
        XCTAssertEqual(info.adapterLoads, 1)
        _ = try await mock.generate(generateRequest(adapter: AdapterRef(path: try makeAdapter(weights: "OTHER"), format: .fmadapter)))
        info = await mock.info()
        XCTAssertEqual(info.adapterLoads, 2)
    }

    func testAGivenSha256IsTheCacheKey() async throws {
        let mock = MockBackend()
        let digest = String(repeating: "ab", count: 32)
        for weights in ["A", "B"] {  // different bytes, same declared digest: the declared digest is trusted
            let ref = AdapterRef(path: try makeAdapter(weights: weights), format: .fmadapter, sha256: digest)
            XCTAssertEqual(try AdapterResolver.resolve(ref).cacheKey, digest)
            _ = try await mock.generate(generateRequest(adapter: ref))
        }
        let loads = await mock.info().adapterLoads
        XCTAssertEqual(loads, 1)
    }

    func testMalformedMetadataIsAClearErrorNamingTheFile() throws {
        let cases: [(String, String)] = [
            ("{\n  \"adapterIdentifier\": \"x\",\n  oops\n}", ":3:3: malformed metadata.json"),
            ("[1, 2]", "expected a JSON object, got array"),
            (#"{"baseModelSignature": 42}"#, "baseModelSignature must be a string, got integer"),
        ]
        for (text, expected) in cases {
            let path = try makeAdapter(metadata: text)
            XCTAssertThrowsError(try AdapterResolver.resolve(AdapterRef(path: path, format: .fmadapter))) { error in
                let runnerError = error as? RunnerError
                XCTAssertEqual(runnerError?.code, .adapterInvalid)
                XCTAssertTrue(runnerError?.message.contains(path + "/metadata.json") ?? false, runnerError?.message ?? "")
                XCTAssertTrue(runnerError?.message.contains(expected) ?? false, runnerError?.message ?? "")
            }
        }
    }

    func testAdapterRequestsOnABackendWithoutAdapterSupportAreRefused() async throws {
        let handler = RequestHandler(backend: MockBackend(adaptersSupported: false))
        let probe = await handler.handle(line: #"{"id":"p","op":"probe"}"#).response
        XCTAssertTrue(probe.ok)
        XCTAssertEqual(probe.backend.adaptersSupported, false)
        let path = try makeAdapter(weights: "W")
        let line = #"{"id":"g","op":"generate","prompt":"plan a trip","adapter":{"path":"\#(path)","format":"fmadapter"}}"#
        let refused = await handler.handle(line: line).response
        XCTAssertFalse(refused.ok)
        XCTAssertEqual(refused.error?.code, .adapterUnsupported)
        XCTAssertTrue(refused.error?.message.contains(path) ?? false)
        XCTAssertTrue(refused.error?.message.contains("cannot load adapters") ?? false)
        XCTAssertEqual(refused.backend.adapterLoads, 0)
        let plain = await handler.handle(line: #"{"id":"h","op":"generate","prompt":"plan a trip"}"#).response
        XCTAssertTrue(plain.ok, "requests without an adapter still run")
    }

    func testProbeReportsTheNewFields() async throws {
        let object = try parsedLine(await RequestHandler(backend: MockBackend()).handle(line: #"{"id":"p","op":"probe"}"#).response)
        let backend = try XCTUnwrap(object["backend"]?.objectValue)
        XCTAssertEqual(backend["model_variant"], "mock")
        XCTAssertEqual(backend["context_tokens"], .int(4096))
        XCTAssertEqual(backend["adapters_supported"], .bool(true))
        XCTAssertEqual(backend["adapter_loads"], .int(0))
        XCTAssertEqual(backend["base_model_signature"], .null)
    }

    func testRequestAdapterSha256IsValidated() {
        let good = String(repeating: "0f", count: 32)
        let line = { (sha: String) in #"{"id":"g","op":"generate","prompt":"p","adapter":{"path":"/x","format":"fmadapter","sha256":\#(sha)}}"# }
        guard case .success(let request) = RequestDecoder.decode(line("\"\(good)\"")) else { return XCTFail("refused") }
        XCTAssertEqual(request.adapter?.sha256, good)
        for bad in ["\"ABC\"", "\"\(String(repeating: "0F", count: 32))\"", "42"] {
            guard case .failure(let failure) = RequestDecoder.decode(line(bad)) else { return XCTFail(bad) }
            XCTAssertEqual(failure.error.code, .badRequest, bad)
        }
    }
}

final class AdapterDigestMemoTests: XCTestCase {
    func testARewrittenAdapterIsHashedAgain() throws {
        let path = try makeAdapter(weights: "ONE")
        let first = try AdapterDigest.digest(of: path)
        XCTAssertEqual(try AdapterDigest.digest(of: path), first)
        try Data("TWO!".utf8).write(to: URL(fileURLWithPath: path).appendingPathComponent("adapter_weights.bin"))
        XCTAssertNotEqual(try AdapterDigest.digest(of: path), first, "a changed size invalidates the remembered digest")
    }
}
