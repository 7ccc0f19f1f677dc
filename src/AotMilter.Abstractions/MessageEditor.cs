using AotMilter.Hosting;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// The modifications a filter can make. Only the end-of-message callback receives an editor, so a modification
/// anywhere else does not compile. Edits are buffered and sent just before the final verdict; if the filter throws,
/// they are dropped together with its verdict.
/// </summary>
public sealed class MessageEditor : IMessageEditorControl
{
    private const int WorkingSize = 64 * 1024;

    // The most header edit records kept from one message to the next: one message with many more should not pin them.
    private const int WorkingHeaderEdits = 64;

    private readonly ByteBufferWriter _edits = new(256);
    private readonly ByteBufferWriter _body = new(256);
    private IProgressSender? _progress;
    private ActionFlags _allowed = ActionFlags.AllVersion6;
    private bool _leadingSpace;
    private bool _freshBody = true;
    private char[] _scratch = new char[128];
    private HeaderEdit[] _headerEdits = new HeaderEdit[16];
    private int _headerEditCount;

    /// <summary>
    /// An editor for one message at a time. The host creates it (and drives it through <see cref="IMessageEditorControl"/>);
    /// a unit test may create one to call a filter's end-of-message method directly (it then allows every modification).
    /// </summary>
    public MessageEditor()
    {
    }

    /// <summary>The number of modifications made for the current message.</summary>
    public int Count { get; private set; }

    /// <summary>True once <see cref="ReplaceBody"/> was called for this message.</summary>
    public bool BodyReplaced { get; private set; }

    /// <summary>True once <see cref="Quarantine"/> was called for this message.</summary>
    public bool Quarantined { get; private set; }

    ReadOnlySpan<byte> IMessageEditorControl.EditFrames => _edits.WrittenSpan;

    ReadOnlySpan<byte> IMessageEditorControl.BodyContent => _body.WrittenSpan;

    ReadOnlySpan<HeaderEdit> IMessageEditorControl.HeaderEditsSince(EditorMark mark)
        => _headerEdits.AsSpan(mark.HeaderEdits, _headerEditCount - mark.HeaderEdits);

    // Each beyond 64 KiB.
    void IMessageEditorControl.UseBudget(IMemoryReservation? budget)
    {
        _edits.Budget = budget;
        _edits.UnreservedCapacity = WorkingSize;
        _body.Budget = budget;
        _body.UnreservedCapacity = WorkingSize;
    }

    void IMessageEditorControl.Configure(ActionFlags allowed, bool headerLeadingSpace, IProgressSender? progress)
    {
        _allowed = allowed;
        _leadingSpace = headerLeadingSpace;
        _progress = progress;
    }

    EditorMark IMessageEditorControl.Mark()
        => new(_edits.WrittenCount, _headerEditCount, _body.WrittenCount, Count, BodyReplaced, _freshBody, Quarantined);

    void IMessageEditorControl.Rollback(EditorMark mark)
    {
        _edits.Truncate(mark.Edits);
        _headerEditCount = mark.HeaderEdits;
        if (_body.WrittenCount >= mark.Body)
        {
            _body.Truncate(mark.Body);
        }

        Count = mark.Count;
        BodyReplaced = mark.BodyReplaced;
        _freshBody = mark.FreshBody;
        Quarantined = mark.Quarantined;
    }

    void IMessageEditorControl.BeginFilter() => _freshBody = true;

    bool IMessageEditorControl.CurrentFilterReplacedBody => !_freshBody;

    void IMessageEditorControl.Reset()
    {
        _freshBody = true;
        _edits.Reset();
        _body.Reset();
        _edits.ShrinkTo(WorkingSize);
        _body.ShrinkTo(WorkingSize);
        _headerEditCount = 0;
        if (_headerEdits.Length > WorkingHeaderEdits)
        {
            _headerEdits = new HeaderEdit[WorkingHeaderEdits];
        }

        Count = 0;
        BodyReplaced = false;
        Quarantined = false;
    }

    /// <summary>Appends a header field at the end of the header (SMFIR_ADDHEADER).</summary>
    public void AddHeader(ReadOnlySpan<char> name, ReadOnlySpan<char> value)
    {
        Require(ActionFlags.AddHeaders, nameof(AddHeader));
        CheckName(name);
        int start = _edits.WrittenCount;
        MilterFrameWriter.WriteStrings(_edits, (byte)MilterResponse.AddHeader, name, OutgoingValue(value));
        RecordHeaderEdit(MilterResponse.AddHeader, 0, start, name.Length);
        Count++;
    }

    /// <summary>Inserts a header field at <paramref name="index"/> (0 = first) among the headers (SMFIR_INSHEADER).</summary>
    public void InsertHeader(int index, ReadOnlySpan<char> name, ReadOnlySpan<char> value)
    {
        Require(ActionFlags.AddHeaders, nameof(InsertHeader));
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        CheckName(name);
        int start = _edits.WrittenCount;
        MilterFrameWriter.WriteIndexedStrings(_edits, (byte)MilterResponse.InsertHeader, (uint)index, name, OutgoingValue(value));
        RecordHeaderEdit(MilterResponse.InsertHeader, (uint)index, start, name.Length);
        Count++;
    }

    /// <summary>
    /// Replaces the value of the <paramref name="occurrence"/>-th field called <paramref name="name"/> (1 = first)
    /// (SMFIR_CHGHEADER). If there is no such field, the MTA adds one.
    /// </summary>
    public void ChangeHeader(ReadOnlySpan<char> name, int occurrence, ReadOnlySpan<char> value)
    {
        Require(ActionFlags.ChangeHeaders, nameof(ChangeHeader));
        ArgumentOutOfRangeException.ThrowIfLessThan(occurrence, 1);
        CheckName(name);
        if (value.IsEmpty)
        {
            throw new ArgumentException("an empty value deletes the header; call DeleteHeader to say so", nameof(value));
        }

        int start = _edits.WrittenCount;
        MilterFrameWriter.WriteIndexedStrings(_edits, (byte)MilterResponse.ChangeHeader, (uint)occurrence, name, OutgoingValue(value));
        RecordHeaderEdit(MilterResponse.ChangeHeader, (uint)occurrence, start, name.Length);
        Count++;
    }

    /// <summary>Deletes the <paramref name="occurrence"/>-th field called <paramref name="name"/> (1 = first).</summary>
    public void DeleteHeader(ReadOnlySpan<char> name, int occurrence = 1)
    {
        Require(ActionFlags.ChangeHeaders, nameof(DeleteHeader));
        ArgumentOutOfRangeException.ThrowIfLessThan(occurrence, 1);
        CheckName(name);
        int start = _edits.WrittenCount;
        MilterFrameWriter.WriteIndexedStrings(_edits, (byte)MilterResponse.ChangeHeader, (uint)occurrence, name, default);
        RecordHeaderEdit(MilterResponse.ChangeHeader, (uint)occurrence, start, name.Length);
        Count++;
    }

    /// <summary>Adds a recipient (SMFIR_ADDRCPT).</summary>
    public void AddRecipient(ReadOnlySpan<char> address)
    {
        Require(ActionFlags.AddRecipient, nameof(AddRecipient));
        CheckAddress(address);
        MilterFrameWriter.WriteString(_edits, (byte)MilterResponse.AddRecipient, address);
        Count++;
    }

    /// <summary>
    /// Adds a recipient with ESMTP arguments, one space-separated string such as "NOTIFY=NEVER" (SMFIR_ADDRCPT_PAR).
    /// Postfix honours only NOTIFY and ORCPT.
    /// </summary>
    public void AddRecipient(ReadOnlySpan<char> address, ReadOnlySpan<char> esmtpArguments)
    {
        Require(ActionFlags.AddRecipientWithArgs, nameof(AddRecipient) + " with ESMTP arguments");
        CheckAddress(address);
        CheckArguments(esmtpArguments);
        MilterFrameWriter.WriteStrings(_edits, (byte)MilterResponse.AddRecipientWithArgs, address, esmtpArguments);
        Count++;
    }

    /// <summary>Removes a recipient, written as the MTA sent it at RCPT (SMFIR_DELRCPT).</summary>
    public void DeleteRecipient(ReadOnlySpan<char> address)
    {
        Require(ActionFlags.DeleteRecipient, nameof(DeleteRecipient));
        CheckAddress(address);
        MilterFrameWriter.WriteString(_edits, (byte)MilterResponse.DeleteRecipient, address);
        Count++;
    }

    /// <summary>
    /// Changes the envelope sender, optionally with ESMTP arguments in one space-separated string (SMFIR_CHGFROM).
    /// Postfix honours only RET and ENVID.
    /// </summary>
    public void ChangeSender(ReadOnlySpan<char> address, ReadOnlySpan<char> esmtpArguments = default)
    {
        Require(ActionFlags.ChangeSender, nameof(ChangeSender));
        CheckAddress(address);
        CheckArguments(esmtpArguments);
        if (esmtpArguments.IsEmpty)
        {
            MilterFrameWriter.WriteString(_edits, (byte)MilterResponse.ChangeSender, address);
        }
        else
        {
            MilterFrameWriter.WriteStrings(_edits, (byte)MilterResponse.ChangeSender, address, esmtpArguments);
        }

        Count++;
    }

    /// <summary>
    /// Appends to the replacement body (CRLF line ends). The first call replaces the body; later calls add to the
    /// replacement. Sent in chunks of at most 65,535 bytes, after every other modification.
    /// </summary>
    public void ReplaceBody(ReadOnlySpan<byte> content)
    {
        Require(ActionFlags.ChangeBody, nameof(ReplaceBody));
        if (_freshBody)
        {
            // In a chain each filter replaces the body it was shown, which already has the earlier filters' changes.
            _body.Reset();
            _freshBody = false;
        }

        content.CopyTo(_body.GetSpan(content.Length));
        _body.Advance(content.Length);
        if (!BodyReplaced)
        {
            BodyReplaced = true;
            Count++;
        }
    }

    /// <summary>
    /// Puts the message in quarantine with a reason (Sendmail: quarantine queue; Postfix: hold queue). Not a verdict:
    /// the message is still accepted or rejected by the final verdict.
    /// </summary>
    public void Quarantine(ReadOnlySpan<char> reason)
    {
        Require(ActionFlags.Quarantine, nameof(Quarantine));
        if (reason.IsEmpty || reason.IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException("a quarantine reason must be one non-empty line", nameof(reason));
        }

        MilterFrameWriter.WriteString(_edits, (byte)MilterResponse.Quarantine, reason);
        Quarantined = true;
        Count++;
    }

    /// <summary>Tells the MTA the filter is still working, so its timeout restarts (sent at once).</summary>
    public void Progress() => _progress?.SendProgress();

    private void Require(ActionFlags action, string operation)
    {
        if ((_allowed & action) == 0)
        {
            throw new InvalidOperationException(
                $"{operation} needs the {action} action, which was not negotiated with the MTA");
        }
    }

    // The frame starting at frameStart was just written as [length, command, (index,)] name NUL value NUL. The name
    // passed CheckName, so it is ASCII and its byte length is its char length; the value ends before the last NUL.
    // Locating both here spares the host parsing the frame back, and keeps the value byte for byte what the MTA gets.
    private void RecordHeaderEdit(MilterResponse kind, uint index, int frameStart, int nameLength)
    {
        int nameStart = frameStart + MilterFrameReader.HeaderSize + (kind == MilterResponse.AddHeader ? 0 : sizeof(uint));
        int valueStart = nameStart + nameLength + 1;
        if (_headerEditCount == _headerEdits.Length)
        {
            Array.Resize(ref _headerEdits, _headerEdits.Length * 2);
        }

        _headerEdits[_headerEditCount++] = new HeaderEdit(kind, index, nameStart, nameLength, valueStart, _edits.WrittenCount - 1 - valueStart);
    }

    private static void CheckName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            throw new ArgumentException("a header name must not be empty", nameof(name));
        }

        foreach (char c in name)
        {
            if (c <= ' ' || c == ':' || c >= 127)
            {
                throw new ArgumentException($"header name '{name}' contains '{c}', which RFC 5322 does not allow", nameof(name));
            }
        }
    }

    // A NUL would end the string early on the wire and a line break would reach the MTA's envelope: an address taken
    // from a message (a peer's text) must not be able to smuggle either.
    private static void CheckAddress(ReadOnlySpan<char> address)
    {
        if (address.IsEmpty || address.IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new ArgumentException("an address must be one non-empty line", nameof(address));
        }
    }

    private static void CheckArguments(ReadOnlySpan<char> esmtpArguments)
    {
        if (esmtpArguments.IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new ArgumentException("ESMTP arguments must be one line", nameof(esmtpArguments));
        }
    }

    // Header values go out with LF folding (CRLF would reach the message as a double CR) and, when the MTA sends
    // headers with their leading space, with a leading space of our own, because the MTA then adds none.
    private ReadOnlySpan<char> OutgoingValue(ReadOnlySpan<char> value)
    {
        // A NUL ends the value on the wire: the MTA would keep a different value from the one the chain's later
        // filters are shown, and read what follows it as garbage.
        if (value.Contains('\0'))
        {
            throw new ArgumentException("a header value must not contain NUL", nameof(value));
        }

        bool needsSpace = _leadingSpace && (value.IsEmpty || (value[0] != ' ' && value[0] != '\t'));
        if (!needsSpace && value.IndexOf('\r') < 0)
        {
            return value;
        }

        if (_scratch.Length < value.Length + 1)
        {
            _scratch = new char[Math.Max(value.Length + 1, _scratch.Length * 2)];
        }

        int n = 0;
        if (needsSpace)
        {
            _scratch[n++] = ' ';
        }

        foreach (char c in value)
        {
            if (c != '\r')
            {
                _scratch[n++] = c;
            }
        }

        return _scratch.AsSpan(0, n);
    }
}
