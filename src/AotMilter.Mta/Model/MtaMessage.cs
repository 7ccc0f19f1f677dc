using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Mta.Model;

/// <summary>What the MTA knows of the message being filtered, besides the headers and the body.</summary>
internal sealed record MessageContext(
    MtaProfile Profile,
    SmtpClientInfo Client,
    string QueueId,
    DateTimeOffset Arrival,
    SmtpAddress Sender,
    IReadOnlyList<SmtpAddress> Recipients);

/// <summary>
/// A message as one MTA holds it while a milter filters it: the headers in that MTA's own list (with its own
/// Received: and any headers it generates), the headers it shows the milter, the body, and how it applies the
/// milter's edits (with that MTA's <see cref="HeaderEdits"/> rules over its list) and writes the message when relaying it.
/// </summary>
internal abstract class MtaMessage : IHeaderEditList
{
    protected static readonly byte[] Crlf = "\r\n"u8.ToArray();

    protected MtaMessage(MessageContext context)
    {
        Context = context;
    }

    protected MessageContext Context { get; }

    /// <summary>The body as received (CRLF line ends).</summary>
    public byte[] Body { get; set; } = [];

    /// <summary>The replacement body, once the milter sent one.</summary>
    protected byte[]? ReplacedBody { get; private set; }

    /// <summary>True once the MTA refused the message while reading it (a limit); see <see cref="IntakeRefusal"/>.</summary>
    public SmtpResponse? IntakeRefusal { get; protected set; }

    /// <summary>Takes in a whole message as the MTA reads it from DATA (its own additions and removals included).</summary>
    public abstract void Receive(Email message);

    /// <summary>Takes in one header field exactly as given (step-by-step mode).</summary>
    public abstract void AddClientHeader(EmailHeader header);

    /// <summary>The header fields the MTA shows the milter, in order: name, and value as stored (leading white space
    /// kept, LF between folded lines).</summary>
    public abstract IReadOnlyList<(byte[] Name, byte[] Value)> MilterHeaders { get; }

    /// <summary>Whose rules the milter's header edits follow on this MTA's list.</summary>
    protected abstract HeaderEditStyle EditStyle { get; }

    public abstract int Count { get; }

    public void AddHeader(string name, string value, bool leadingSpace) =>
        HeaderEdits.Add(this, EditStyle, Ascii(name), MilterValue(value, leadingSpace));

    public void InsertHeader(uint index, string name, string value, bool leadingSpace) =>
        HeaderEdits.Insert(this, EditStyle, index, Ascii(name), MilterValue(value, leadingSpace));

    /// <summary>Change (or, with an empty value, delete) the <paramref name="index"/>-th field called <paramref name="name"/>.</summary>
    public void ChangeHeader(uint index, string name, string value, bool leadingSpace) =>
        HeaderEdits.Change(this, EditStyle, index, Ascii(name), value.Length == 0 ? [] : MilterValue(value, leadingSpace));

    public abstract ReadOnlySpan<byte> NameAt(int position);

    public abstract HeaderOrigin OriginAt(int position);

    public abstract void Insert(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);

    public abstract void Replace(int position, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);

    public abstract void Remove(int position);

    public void AppendReplacementBody(byte[] chunk)
    {
        ReplacedBody = ReplacedBody is null ? chunk : [.. ReplacedBody, .. chunk];
    }

    /// <summary>The message as the MTA relays it (its own Received: first).</summary>
    public abstract Email Render();

    /// <summary>The value of the message's Message-Id (or the one the MTA would generate).</summary>
    public abstract string MessageId { get; }

    protected string GeneratedMessageId => Context.Profile.Kind == MtaKind.Postfix
        ? $"<{Context.Arrival:yyyyMMddHHmmss}.{Context.QueueId}@{Context.Profile.HostName}>"
        : $"<{Context.Arrival:yyyyMMddHHmm}.{Context.QueueId}@{Context.Profile.HostName}>";

    /// <summary>Header value bytes from a milter's text: LF between lines (a CR is dropped), optional leading space.</summary>
    protected static byte[] MilterValue(string value, bool leadingSpace)
    {
        string text = value.Replace("\r", "", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(leadingSpace ? " " + text : text);
    }

    /// <summary>"Name:" + value with LF turned into CRLF (a line that would not start with white space gets a space).</summary>
    protected static byte[] HeaderText(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var text = new List<byte>(name.Length + value.Length + 8);
        text.AddRange(name);
        text.Add((byte)':');
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == (byte)'\n')
            {
                text.Add((byte)'\r');
                text.Add((byte)'\n');
                if (i + 1 < value.Length && value[i + 1] is not ((byte)' ' or (byte)'\t'))
                {
                    text.Add((byte)' ');
                }

                continue;
            }

            text.Add(value[i]);
        }

        return [.. text];
    }

    /// <summary>A body (replacement or original) with every line ending in CRLF (LF and CRLF both end a line).</summary>
    protected static byte[] CanonicalBody(ReadOnlySpan<byte> body)
    {
        var output = new MemoryStream(body.Length + 16);
        while (!body.IsEmpty)
        {
            int lf = body.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = lf < 0 ? body : body[..lf];
            if (lf >= 0 && !line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            output.Write(line);
            output.Write(Crlf);
            body = lf < 0 ? default : body[(lf + 1)..];
        }

        return output.ToArray();
    }

    protected static bool NameIs(ReadOnlySpan<byte> name, string other) =>
        Encoding.UTF8.GetString(name).Equals(other, StringComparison.OrdinalIgnoreCase);

    protected static byte[] Ascii(string text) => Encoding.UTF8.GetBytes(text);
}
