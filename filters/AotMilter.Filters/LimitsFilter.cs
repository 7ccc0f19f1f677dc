using System.Globalization;
using AotMilter.Filters.Limits;

namespace AotMilter.Filters;

/// <summary>
/// Message size, recipients per message, header count and header line length, each refused with its own reply as
/// soon as it is exceeded: the size at MAIL FROM when the client announces it (SIZE=) and again while the message
/// arrives, recipients at the RCPT TO that is one too many (that recipient only: 452 lets the client send the rest
/// later), header fields at the header that breaks the limit.
/// </summary>
[Milter("limits", Description = "Maximum message size, recipients, header count and header line length")]
public sealed class LimitsFilter
{
    private readonly LimitsSettings _settings;
    private long _size;
    private int _recipients;
    private int _headers;

    public LimitsFilter(LimitsSettings settings) => _settings = settings;

    [OnMailFrom]
    public Verdict MailFrom(EnvelopeAddress sender)
    {
        _size = 0;
        _recipients = 0;
        _headers = 0;
        if (_settings.MaxMessageSize > 0)
        {
            foreach (ReadOnlySpan<byte> argument in sender.Arguments)
            {
                if (argument.Length > 5 && System.Text.Ascii.EqualsIgnoreCase(argument[..5], "SIZE="u8)
                    && long.TryParse(System.Text.Encoding.ASCII.GetString(argument[5..]), NumberStyles.None, CultureInfo.InvariantCulture, out long announced)
                    && announced > _settings.MaxMessageSize)
                {
                    return Verdict.From(_settings.SizeReply);
                }
            }
        }

        return Verdict.Continue;
    }

    [OnRcptTo]
    public Verdict RcptTo()
    {
        _recipients++;
        return _settings.MaxRecipients > 0 && _recipients > _settings.MaxRecipients ? Verdict.From(_settings.RecipientsReply) : Verdict.Continue;
    }

    [OnHeader]
    public Verdict Header(HeaderField header)
    {
        _headers++;
        if (_settings.MaxHeaders > 0 && _headers > _settings.MaxHeaders)
        {
            return Verdict.From(_settings.HeadersReply);
        }

        // "Name: value\r\n", folded lines separated by LF in what the MTA passes.
        ReadOnlySpan<byte> value = header.Value;
        _size += header.Name.Length + 2 + value.Length + 2 + value.Count((byte)'\n');
        if (_settings.MaxHeaderLine > 0)
        {
            int first = header.Name.Length + 2;
            foreach (System.Range line in value.Split((byte)'\n'))
            {
                int length = first + (value[line].EndsWith("\r"u8) ? value[line].Length - 1 : value[line].Length);
                if (length > _settings.MaxHeaderLine)
                {
                    return Verdict.From(_settings.HeaderLineReply);
                }

                first = 0;
            }
        }

        return SizeVerdict();
    }

    [OnBody]
    public Verdict Body(ReadOnlySpan<byte> chunk)
    {
        _size += chunk.Length;
        return SizeVerdict();
    }

    private Verdict SizeVerdict()
        => _settings.MaxMessageSize > 0 && _size > _settings.MaxMessageSize ? Verdict.From(_settings.SizeReply) : Verdict.Continue;
}
