import Crypto

/// The hashes SCRAM needs (RFC 5802, RFC 7677), through swift-crypto (BoringSSL on Linux,
/// CryptoKit on Apple platforms) instead of a hand-written SHA-2: constant-time, audited
/// primitives, and the same code path the broker's SCRAM will use (issue 14 item 2).
///
/// Pure functions over byte arrays; tested against the FIPS, RFC 4231 and RFC 7677 vectors.
/// Public because the broker's SCRAM server (Broker/Security/ScramServer.swift) uses the same
/// helpers: one implementation of SCRAM's primitives for both ends.
public enum SHA2 {
    public enum Variant: Sendable { case sha256, sha512 }

    public static func hash(_ message: [UInt8], _ variant: Variant) -> [UInt8] {
        switch variant {
        case .sha256: return sha256(message)
        case .sha512: return sha512(message)
        }
    }

    public static func sha256(_ message: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: message)) }
    public static func sha512(_ message: [UInt8]) -> [UInt8] { Array(SHA512.hash(data: message)) }

    public static func hmac(key: [UInt8], message: [UInt8], _ variant: Variant) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch variant {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    /// SCRAM's `Hi(str, salt, i)` (RFC 5802 §2.2): PBKDF2 with HMAC as the PRF and one block
    /// of output (dkLen = the hash length). Written on Crypto's HMAC rather than
    /// `_CryptoExtras`' PBKDF2, whose API is underscored (not stable) and which would add a
    /// second module for one function.
    public static func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int, _ variant: Variant) -> [UInt8] {
        switch variant {
        case .sha256: return hi(HMAC<SHA256>.self, password: password, salt: salt, iterations: iterations)
        case .sha512: return hi(HMAC<SHA512>.self, password: password, salt: salt, iterations: iterations)
        }
    }

    private static func hi<H: HashFunction>(_: HMAC<H>.Type, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<H>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))   // U1 = HMAC(p, salt || INT(1))
        var result = u
        if iterations > 1 {
            for _ in 2...iterations {
                u = Array(HMAC<H>.authenticationCode(for: u, using: key))
                for j in result.indices { result[j] ^= u[j] }
            }
        }
        return result
    }
}
