/// The version and git commit `samsa --version` prints.
///
/// WHY two sources: a plain `swift build` must not need git or a generated file, so it reports
/// "dev"/"unknown". `scripts/package.sh` writes `BuildInfo.generated.swift` (gitignored: a
/// committed copy would go stale with the next commit) next to this file and builds with
/// `-Xswiftc -DSAMSA_PACKAGE_BUILD`, which swaps these fallbacks for the generated values.
/// A generated file left behind in a checkout is inert in plain builds (it is all inside
/// `#if SAMSA_PACKAGE_BUILD`).
public enum BuildInfo {
    #if !SAMSA_PACKAGE_BUILD
    /// The release version (the `VERSION` file when packaged), "dev" otherwise.
    public static let version = "dev"
    /// `git describe --always --dirty --abbrev=12` of the packaged tree, "unknown" otherwise.
    public static let commit = "unknown"
    #endif

    /// What `samsa --version` prints: `0.1.0 (commit 4d961d3a5b2c)`.
    public static var versionLine: String { "\(version) (commit \(commit))" }
}
