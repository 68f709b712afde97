import Foundation

/// Finds and loads themes by name or path, completing each from the default theme.
public struct ThemeLoader: Sendable {
    /// Directories searched for `NAME.toml`, in order.
    public var searchPaths: [String]

    public init(searchPaths: [String]? = nil) {
        self.searchPaths = searchPaths ?? ThemeLoader.defaultSearchPaths()
    }

    /// `$SAMSA_THEMES`, `~/.config/samsa/themes`, `<exe>/../share/samsa/themes`,
    /// `<exe dir>/themes`, `./themes`, and the source checkout's `themes/` (for dev builds).
    public static func defaultSearchPaths() -> [String] {
        var paths: [String] = []
        let env = ProcessInfo.processInfo.environment
        if let p = env["SAMSA_THEMES"] { paths.append(p) }
        if let home = env["HOME"] { paths.append(home + "/.config/samsa/themes") }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        paths.append(exe.appendingPathComponent("../share/samsa/themes").standardized.path)
        paths.append(exe.appendingPathComponent("themes").path)
        paths.append(FileManager.default.currentDirectoryPath + "/themes")
        // Sources/TerminalUI/ThemeLoader.swift -> repository root.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        paths.append(repo.appendingPathComponent("themes").path)
        return paths
    }

    /// Names of themes available in the search paths (plus "default"), sorted, unique.
    public func availableThemes() -> [String] {
        var names: Set<String> = ["default"]
        for dir in searchPaths {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for f in files where f.hasSuffix(".toml") { names.insert(String(f.dropLast(5))) }
        }
        return names.sorted()
    }

    /// Loads `nameOrPath`: a path if it contains '/' or ends in .toml, else a theme name.
    public func load(_ nameOrPath: String) throws(ThemeError) -> Theme {
        let path: String
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            path = nameOrPath
        } else if let found = searchPaths.map({ "\($0)/\(nameOrPath).toml" }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            path = found
        } else if nameOrPath == "default" {
            return Theme.builtinDefault
        } else {
            throw ThemeError(file: nameOrPath, line: nil, key: nil,
                             message: "no such theme; available: \(availableThemes().joined(separator: ", "))")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ThemeError(file: path, line: nil, key: nil, message: "cannot read file (missing, unreadable or not UTF-8)")
        }
        return try ThemeParser.parse(text, file: path).completed(from: Theme.builtinDefault)
    }
}
