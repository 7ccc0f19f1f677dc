using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AotMilter.Protocol;

namespace AotMilter.TestFilters;

/// <summary>
/// The filter of the differential tests: records everything it sees (see <see cref="Transcripts"/>) and makes the
/// same handful of edits to every message, so that the message a real MTA delivers can be compared byte for byte
/// with the kit's "final message" for the same input: a header count added at the end, Subject changed, the first
/// Received deleted, a header inserted at index 2, a folded header added, a change of a header that does not exist
/// (the MTA adds it), and one more recipient. The body is left alone, so its transport is compared too.
/// </summary>
[Milter("test-diff", Description = "Test filter: records what it sees and makes the same edits to every message")]
public sealed class DiffFilter
{
    private readonly StringBuilder _connection = new();
    private readonly StringBuilder _message = new();
    private string _key = "";
    private int _headers;
    private IncrementalHash? _body;
    private long _bodyBytes;

    [OnConnect]
    public void Connect(ConnectInfo info, MilterContext context)
    {
        _connection.Clear();
        _connection.Append(CultureInfo.InvariantCulture, $"connect {Transcripts.Escape(info.HostName)} {info.Family}").AppendLine();
        _connection.Append("macros C:").Append(Transcripts.Macros(context, MacroStage.Connect)).AppendLine();
    }

    [OnHelo]
    public void Helo(ReadOnlySpan<byte> name, MilterContext context)
    {
        _connection.Append("helo ").Append(Transcripts.Escape(name)).AppendLine();
        _connection.Append("macros H:").Append(Transcripts.Macros(context, MacroStage.Helo)).AppendLine();
    }

    [OnMailFrom]
    public void MailFrom(EnvelopeAddress sender, MilterContext context)
    {
        string address = sender.Address.ToString();
        int at = address.IndexOf('@', StringComparison.Ordinal);
        _key = at < 0 ? address : address[..at];
        _headers = 0;
        _bodyBytes = 0;
        _body?.Dispose();
        _body = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _message.Clear().Append(_connection);
        _message.Append("mail ").Append(Transcripts.Escape(sender.Raw)).Append(Arguments(sender)).AppendLine();
        _message.Append("macros M:").Append(Transcripts.Macros(context, MacroStage.MailFrom)).AppendLine();
    }

    [OnRcptTo]
    public void RcptTo(EnvelopeAddress recipient, MilterContext context)
    {
        _message.Append("rcpt ").Append(Transcripts.Escape(recipient.Raw)).Append(Arguments(recipient)).AppendLine();
        _message.Append("macros R:").Append(Transcripts.Macros(context, MacroStage.RcptTo)).AppendLine();
    }

    [OnData]
    public void Data(MilterContext context)
        => _message.Append("data").AppendLine().Append("macros T:").Append(Transcripts.Macros(context, MacroStage.Data)).AppendLine();

    [OnHeader]
    public void Header(HeaderField header)
    {
        _headers++;
        _message.Append("header ").Append(Transcripts.Escape(header.Name)).Append(": ").Append(Transcripts.Escape(header.Value)).AppendLine();
    }

    [OnEndOfHeaders]
    public void EndOfHeaders(MilterContext context)
        => _message.Append("eoh").AppendLine().Append("macros N:").Append(Transcripts.Macros(context, MacroStage.EndOfHeaders)).AppendLine();

    [OnBody]
    public void Body(ReadOnlySpan<byte> chunk)
    {
        _body?.AppendData(chunk);
        _bodyBytes += chunk.Length;
        _message.Append(CultureInfo.InvariantCulture, $"body {chunk.Length}").AppendLine();
    }

    [OnEndOfMessage]
    public Verdict EndOfMessage(MessageEditor editor, MilterContext context)
    {
        string hash = _body is null ? "-" : Convert.ToHexStringLower(_body.GetHashAndReset());
        _message.Append(CultureInfo.InvariantCulture, $"eom body={_bodyBytes} sha256={hash}").AppendLine();
        _message.Append("macros E:").Append(Transcripts.Macros(context, MacroStage.EndOfMessage)).AppendLine();
        Transcripts.Save(_key, _message.ToString());

        editor.AddHeader("X-Diff-Count", _headers.ToString(CultureInfo.InvariantCulture));
        editor.ChangeHeader("Subject", 1, "diff: changed subject");
        editor.DeleteHeader("Received", 1);
        editor.InsertHeader(2, "X-Diff-Inserted", "at index 2");
        editor.AddHeader("X-Diff-Folded", "first line\n\tsecond line");
        editor.ChangeHeader("X-Diff-Missing", 1, "added by a change");
        editor.AddRecipient("<diff-added@rcpt.test>");
        return Verdict.Continue;
    }

    [OnAbort]
    public void Abort()
    {
        _message.Append("abort").AppendLine();
        if (_key.Length > 0)
        {
            Transcripts.Save(_key, _message.ToString());
        }
    }

    private static string Arguments(EnvelopeAddress address)
    {
        var text = new StringBuilder();
        ArgvReader arguments = address.Arguments;
        while (arguments.MoveNext())
        {
            text.Append(' ').Append(Transcripts.Escape(arguments.Current));
        }

        return text.ToString();
    }
}
