/// One input of a form: free text, or a fixed set of choices cycled with Left/Right/Space.
public struct FormField: Sendable {
    public var key: String
    public var label: String
    public var editor: LineEditor
    public var choices: [String]
    public var hint: String
    /// Returns an error message for an invalid value, nil when valid.
    public var validate: @Sendable (String) -> String?
    /// A password: drawn as one `*` per character, never as typed.
    public var masked: Bool

    public init(key: String, label: String, value: String = "", hint: String = "", choices: [String] = [], masked: Bool = false,
                validate: @escaping @Sendable (String) -> String? = { _ in nil }) {
        self.key = key; self.label = label; self.editor = LineEditor(value); self.hint = hint
        self.choices = choices; self.masked = masked; self.validate = validate
        if !choices.isEmpty && !choices.contains(value) { editor.set(choices[0]) }
    }

    public var value: String { editor.text }
}

/// What a key did to a form.
public enum FormEvent: Equatable, Sendable {
    case none
    case submit([String: String])
    case cancel
}

/// A modal dialog of labelled fields with per-field and whole-form validation. Enter on the
/// last field (or Ctrl-S anywhere) submits only when every validator passes; the first
/// error is shown in the dialog and focus moves to the field at fault.
public struct Form: Sendable {
    public var title: String
    public var fields: [FormField]
    public var focus: Int = 0
    public var error: String?
    /// What submitting does, in the key hints ("create", "delete", "preview").
    public var submitLabel: String
    /// A warning shown above the hint line whatever the focus (e.g. the key-ordering
    /// caveat of adding partitions).
    public var note: String?
    /// Cross-field validation, run after the per-field validators.
    public var validateAll: @Sendable ([String: String]) -> String?

    public init(title: String, fields: [FormField], submitLabel: String = "submit", note: String? = nil,
                validateAll: @escaping @Sendable ([String: String]) -> String? = { _ in nil }) {
        self.title = title; self.fields = fields; self.submitLabel = submitLabel; self.note = note; self.validateAll = validateAll
    }

    /// The key hints for the focused field. Enter moves to the next field until the last
    /// one, so only there does it submit (the footer once said "Enter submit" everywhere).
    public var footer: String {
        let change = focus < fields.count && !fields[focus].choices.isEmpty ? "Space change  " : ""
        if focus >= fields.count - 1 { return change + "Enter \(submitLabel)  Esc cancel" }
        return change + "Enter next  C-s \(submitLabel)  Esc cancel"
    }

    public var values: [String: String] {
        Dictionary(fields.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    public mutating func handle(_ key: Key) -> FormEvent {
        guard !fields.isEmpty else { return key == .escape ? .cancel : .none }
        switch key {
        case .escape: return .cancel
        case .tab, .down: focus = (focus + 1) % fields.count; return .none
        case .backTab, .up: focus = (focus + fields.count - 1) % fields.count; return .none
        case .enter where focus < fields.count - 1:
            if let e = fields[focus].validate(fields[focus].value) { error = "\(fields[focus].label): \(e)"; return .none }
            error = nil; focus += 1; return .none
        case .enter, .ctrl("s"): return submit()
        default:
            if !fields[focus].choices.isEmpty {
                let ch = fields[focus].choices
                let i = ch.firstIndex(of: fields[focus].value) ?? 0
                switch key {
                case .right, .char(" "): fields[focus].editor.set(ch[(i + 1) % ch.count])
                case .left: fields[focus].editor.set(ch[(i + ch.count - 1) % ch.count])
                default: break
                }
                return .none
            }
            if fields[focus].editor.handle(key) { error = nil }
            return .none
        }
    }

    /// Validates everything; on success returns the values.
    public mutating func submit() -> FormEvent {
        for (i, f) in fields.enumerated() {
            if let e = f.validate(f.value) { error = "\(f.label): \(e)"; focus = i; return .none }
        }
        if let e = validateAll(values) { error = e; return .none }
        error = nil
        return .submit(values)
    }

    public func draw(in canvas: inout Canvas) {
        let labelWidth = min(24, (fields.map { TextWidth.width(of: $0.label) }.max() ?? 0) + 1)
        // Wide enough for the error when there is room: broker errors are long and their
        // end ("Unknown configuration x") is the useful part.
        let width = min(canvas.width - 2, max(50, labelWidth + 34, error.map { TextWidth.width(of: $0) + 4 } ?? 0,
                                              note.map { TextWidth.width(of: $0) + 4 } ?? 0))
        let height = min(canvas.height - 2, fields.count + 6 + (note == nil ? 0 : 1))
        let rect = canvas.bounds.centered(width: width, height: height)
        canvas.fill(rect, role: .dialog)
        canvas.box(rect, title: title, role: .dialog, titleRole: .dialogTitle)
        let inner = rect.inset(1)
        let inputWidth = max(1, inner.width - labelWidth - 2)
        // On a short terminal not every field fits: scroll so the focused one is visible
        // (typing into a field one cannot see was possible at 40x10).
        let noteRows = note == nil ? 0 : 1
        let visible = max(1, inner.height - 3 - noteRows)
        let first = min(max(0, focus - visible + 1), max(0, fields.count - visible))
        for (i, f) in fields.enumerated() where i >= first && i < first + visible {
            let y = inner.row + 1 + i - first
            canvas.write(fitted: f.label, row: y, col: inner.col + 1, width: labelWidth, role: .dialog)
            let shown = f.choices.isEmpty ? f.editor : LineEditor("< \(f.value) >")
            shown.draw(in: &canvas, row: y, col: inner.col + 1 + labelWidth, width: inputWidth,
                       role: i == focus ? .inputFocused : .input, focused: i == focus && f.choices.isEmpty, masked: f.masked)
        }
        let infoRow = inner.bottom - 2
        if let note, inner.height >= 4 + noteRows {
            canvas.write(fitted: note, row: infoRow - 1, col: inner.col + 1, width: inner.width - 2, role: .warn)
        }
        if let error {
            canvas.write(fitted: error, row: infoRow, col: inner.col + 1, width: inner.width - 2, role: .error)
        } else if focus < fields.count, !fields[focus].hint.isEmpty {
            canvas.write(fitted: fields[focus].hint, row: infoRow, col: inner.col + 1, width: inner.width - 2, role: .dialog)
        }
        canvas.write(fitted: footer, row: inner.bottom - 1, col: inner.col + 1, width: inner.width - 2, role: .dialog)
    }
}
