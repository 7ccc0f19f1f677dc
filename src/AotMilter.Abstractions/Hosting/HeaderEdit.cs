using AotMilter.Protocol;

namespace AotMilter.Hosting;

/// <summary>
/// One header edit a filter made (add, insert, change or delete), as a value a host can apply to its own copy of the
/// message without reading the reply frames back. The name and value are not copied: they are located in
/// <see cref="IMessageEditorControl.EditFrames"/>, where the editor wrote them for the MTA, so the host applies
/// exactly the bytes the MTA will receive (the value with its leading space, if negotiated, and LF folding).
/// </summary>
/// <param name="Kind"><see cref="MilterResponse.AddHeader"/>, <see cref="MilterResponse.InsertHeader"/> or
/// <see cref="MilterResponse.ChangeHeader"/> (a delete is a change with an empty value).</param>
/// <param name="Index">The insert position (0 = first header) or the occurrence changed (1 = first of that name); 0 for an add.</param>
/// <param name="NameStart">Where the name starts in the edit frames.</param>
/// <param name="NameLength">The name's length in bytes.</param>
/// <param name="ValueStart">Where the value starts in the edit frames.</param>
/// <param name="ValueLength">The value's length in bytes; 0 for a delete.</param>
public readonly record struct HeaderEdit(MilterResponse Kind, uint Index, int NameStart, int NameLength, int ValueStart, int ValueLength)
{
    /// <summary>The header name, from <paramref name="frames"/> (the editor's <see cref="IMessageEditorControl.EditFrames"/>).</summary>
    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> frames) => frames.Slice(NameStart, NameLength);

    /// <summary>The header value, from <paramref name="frames"/> (the editor's <see cref="IMessageEditorControl.EditFrames"/>).</summary>
    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> frames) => frames.Slice(ValueStart, ValueLength);
}
