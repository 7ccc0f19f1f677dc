using AotMilter.Protocol;

namespace AotMilter.Hosting;

/// <summary>
/// The host's side of a <see cref="MessageEditor"/>: the edits a filter made, as reply frames ready for the MTA, and
/// the bookkeeping that lets a chain take back the edits of a filter that failed. Implemented explicitly, so a filter
/// sees only the editing methods; a host converts the editor it created (<c>IMessageEditorControl control = editor;</c>).
/// </summary>
public interface IMessageEditorControl
{
    /// <summary>The modifications made so far, as milter reply frames (header and recipient edits, sender, quarantine).</summary>
    ReadOnlySpan<byte> EditFrames { get; }

    /// <summary>
    /// The header edits made since <paramref name="mark"/>, in order, as values over <see cref="EditFrames"/>. A chain
    /// applies them to its copy of the message for the next filter; reading them here saves parsing back the frames
    /// just written. Valid until the next edit, <see cref="Rollback"/> or <see cref="Reset"/>.
    /// </summary>
    ReadOnlySpan<HeaderEdit> HeaderEditsSince(EditorMark mark);

    /// <summary>The replacement body written so far (empty unless <see cref="MessageEditor.BodyReplaced"/>).</summary>
    ReadOnlySpan<byte> BodyContent { get; }

    /// <summary>True when the filter that runs now replaced the body (since <see cref="BeginFilter"/>).</summary>
    bool CurrentFilterReplacedBody { get; }

    /// <summary>Edits and a replaced body beyond their working size are reserved from <paramref name="budget"/>: they stay in memory until the MTA takes them.</summary>
    void UseBudget(IMemoryReservation? budget);

    /// <summary>What the MTA allows (others throw in the filter), whether it wants header values with their leading space, and where progress goes.</summary>
    void Configure(ActionFlags allowed, bool headerLeadingSpace, IProgressSender? progress);

    /// <summary>The next filter of a chain starts: its first ReplaceBody starts a new body.</summary>
    void BeginFilter();

    /// <summary>Where the edits stand now, so a filter that throws can have its own edits taken back.</summary>
    EditorMark Mark();

    /// <summary>Takes back every edit made since <paramref name="mark"/>.</summary>
    void Rollback(EditorMark mark);

    /// <summary>Forgets the message's edits (after they were sent, or when the message ends without them).</summary>
    void Reset();
}
