import DriftCore

/// `tls-server-end-point` channel binding (RFC 5929 §4.1): the hash of the server's DER
/// certificate, with the hash of its signature algorithm, SHA-256 for MD5 and SHA-1.
enum ChannelBinding {
    /// Signature algorithm OIDs (DER-encoded contents) that call for SHA-384 or SHA-512.
    static let sha384: [[UInt8]] = [
        [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C],  // sha384WithRSAEncryption
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03],  // ecdsa-with-SHA384
    ]
    static let sha512: [[UInt8]] = [
        [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D],  // sha512WithRSAEncryption
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04],  // ecdsa-with-SHA512
    ]

    static func serverEndPoint(derCertificate der: [UInt8]) -> [UInt8] {
        // The certificate ends with its signatureAlgorithm and signature: the last algorithm
        // OID in it is the signature's.
        func lastOffset(_ oids: [[UInt8]]) -> Int {
            var best = -1
            for oid in oids {
                let pattern = [0x06, UInt8(oid.count)] + oid
                var i = der.count - pattern.count
                while i >= 0 {
                    if der[i] == 0x06 && Array(der[i..<(i + pattern.count)]) == pattern {
                        best = max(best, i)
                        break
                    }
                    i -= 1
                }
            }
            return best
        }
        let at384 = lastOffset(sha384), at512 = lastOffset(sha512)
        let sha256At = lastOffset([[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B], [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]])
        if at512 > max(at384, sha256At) { return PasswordVerifier.sha512(der) }
        if at384 > sha256At { return PasswordVerifier.sha384(der) }
        return PasswordVerifier.sha256(der)
    }
}
