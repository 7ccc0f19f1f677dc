namespace AotMilter.Hosting;

/// <summary>A position in a <see cref="MessageEditor"/>'s edits (see <see cref="IMessageEditorControl.Mark"/>).</summary>
public readonly record struct EditorMark(int Edits, int HeaderEdits, int Body, int Count, bool BodyReplaced, bool FreshBody, bool Quarantined);
