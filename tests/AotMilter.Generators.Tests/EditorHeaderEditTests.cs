using System.Text;
using AotMilter.Hosting;
using AotMilter.Protocol;

namespace AotMilter.Generators.Tests;

/// <summary>The header edits an editor hands its host as values, next to the frames it wrote for the MTA.</summary>
public class EditorHeaderEditTests
{
    [Fact]
    public void HeaderEditsSinceAMarkNameTheBytesSentToTheMtaAndGoWithRollbackAndReset()
    {
        var editor = new MessageEditor();
        IMessageEditorControl control = editor;
        control.Configure(ActionFlags.AddHeaders | ActionFlags.ChangeHeaders | ActionFlags.Quarantine, headerLeadingSpace: true, progress: null);

        editor.AddHeader("X-Before", "mark");
        EditorMark mark = control.Mark();
        editor.InsertHeader(2, "X-Inserted", "a\r\n\tb");
        editor.Quarantine("held");
        editor.ChangeHeader("Subject", 2, "\tindented");
        editor.DeleteHeader("X-Old", 3);

        Assert.Equal(["i 2 X-Inserted: a\n\tb", "m 2 Subject:\tindented", "m 3 X-Old:"], Describe(control, mark));

        // Past the records' first capacity: the earlier ones stay where they were.
        for (int i = 0; i < 40; i++)
        {
            editor.AddHeader("X-Many", "v");
        }

        string[] all = Describe(control, default);
        Assert.Equal(44, all.Length);
        Assert.Equal("h 0 X-Before: mark", all[0]);
        Assert.Equal("h 0 X-Many: v", all[^1]);

        control.Rollback(mark);
        Assert.Empty(Describe(control, mark));
        Assert.Equal(["h 0 X-Before: mark"], Describe(control, default));

        control.Reset();
        Assert.Empty(Describe(control, default));
    }

    private static string[] Describe(IMessageEditorControl control, EditorMark mark)
    {
        ReadOnlySpan<byte> frames = control.EditFrames;
        ReadOnlySpan<HeaderEdit> edits = control.HeaderEditsSince(mark);
        string[] described = new string[edits.Length];
        for (int i = 0; i < edits.Length; i++)
        {
            HeaderEdit e = edits[i];
            described[i] = $"{(char)e.Kind} {e.Index} {Encoding.UTF8.GetString(e.Name(frames))}:{Encoding.UTF8.GetString(e.Value(frames))}";
        }

        return described;
    }

    [Fact]
    public void AHeaderValueWithANulIsRefusedAndLeavesNoEdit()
    {
        var editor = new MessageEditor();
        IMessageEditorControl control = editor;
        EditorMark empty = control.Mark();

        ArgumentException refused = Assert.Throws<ArgumentException>(() => editor.AddHeader("X-Tag", "cut\0here"));
        Assert.Throws<ArgumentException>(() => editor.ChangeHeader("Subject", 1, "\0"));
        Assert.Throws<ArgumentException>(() => editor.InsertHeader(0, "X-Tag", "a\0"));

        Assert.StartsWith("a header value must not contain NUL", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, editor.Count);
        Assert.True(control.EditFrames.IsEmpty);
        Assert.True(control.HeaderEditsSince(empty).IsEmpty);
    }
}
