using System.Buffers;
using System.Buffers.Text;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZLogger;

namespace AotMilter.Server;

/// <summary>
/// The one log line per connection ("conn=… client=… messages=… queue_id=… verdict=… duration_ms=…"), written by
/// hand rather than by [ZLoggerMessage]: the client address and queue id are bytes in the session, and a generated
/// method would need them as strings, one or two allocations per connection. This state carries copies of the bytes
/// (the session is reused as soon as the line is queued), so writing the line allocates nothing.
/// </summary>
internal readonly struct ConnectionSummary : IZLoggerFormattable, IReadOnlyList<KeyValuePair<string, object?>>
{
    private const string Format = "conn={connectionId} client={client} messages={messages} queue_id={queueId} verdict={verdict} duration_ms={durationMs:F1}";

    private static readonly JsonEncodedText s_connectionId = JsonEncodedText.Encode("connectionId");
    private static readonly JsonEncodedText s_client = JsonEncodedText.Encode("client");
    private static readonly JsonEncodedText s_messages = JsonEncodedText.Encode("messages");
    private static readonly JsonEncodedText s_queueId = JsonEncodedText.Encode("queueId");
    private static readonly JsonEncodedText s_verdict = JsonEncodedText.Encode("verdict");
    private static readonly JsonEncodedText s_durationMs = JsonEncodedText.Encode("durationMs");

    private readonly long _connectionId;
    private readonly LogBytes _client;
    private readonly int _messages;
    private readonly LogBytes _queueId;
    private readonly string _verdict;
    private readonly double _durationMs;

    internal ConnectionSummary(long connectionId, ReadOnlySpan<byte> client, int messages, ReadOnlySpan<byte> queueId, string verdict, double durationMs)
    {
        _connectionId = connectionId;
        _client = new LogBytes(client);
        _messages = messages;
        _queueId = new LogBytes(queueId);
        _verdict = verdict;
        _durationMs = durationMs;
    }

    public int ParameterCount => 6;

    public bool IsSupportUtf8ParameterKey => true;

    public int Count => 6;

    public KeyValuePair<string, object?> this[int index] => new(GetParameterKeyAsString(index), GetParameterValue(index));

    /// <summary>Writes the line at Information (nothing is done when that level is off). "-" stands for an empty value.</summary>
    public static void Write(ILogger logger, long connectionId, ReadOnlySpan<byte> client, int messages, ReadOnlySpan<byte> queueId, string verdict, double durationMs)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        logger.Log(LogLevel.Information, new EventId(-1, "ConnectionSummary"),
            new ConnectionSummary(connectionId, client, messages, queueId, verdict, durationMs), null, static (state, _) => state.ToString());
    }

    public IZLoggerEntry CreateEntry(in LogInfo info) => ZLoggerEntry<ConnectionSummary>.Create(info, this);

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"conn={_connectionId} client={_client} messages={_messages} queue_id={_queueId} verdict={_verdict} duration_ms={_durationMs:F1}");

    public void ToString(IBufferWriter<byte> writer)
    {
        Span<byte> number = stackalloc byte[32];
        writer.Write("conn="u8);
        WriteNumber(writer, number, _connectionId);
        writer.Write(" client="u8);
        writer.Write(_client.Span);
        writer.Write(" messages="u8);
        WriteNumber(writer, number, _messages);
        writer.Write(" queue_id="u8);
        writer.Write(_queueId.Span);
        writer.Write(" verdict="u8);
        Span<byte> verdict = writer.GetSpan(_verdict.Length);
        writer.Advance(Encoding.UTF8.GetBytes(_verdict, verdict));
        writer.Write(" duration_ms="u8);
        Utf8Formatter.TryFormat(_durationMs, number, out int written, new StandardFormat('F', 1));
        writer.Write(number[..written]);
    }

    public string GetOriginalFormat() => Format;

    public void WriteOriginalFormat(IBufferWriter<byte> writer) => writer.Write(Encoding.UTF8.GetBytes(Format));

    public void WriteJsonParameterKeyValues(Utf8JsonWriter writer, JsonSerializerOptions jsonSerializerOptions, IKeyNameMutator? keyNameMutator = null)
    {
        writer.WriteNumber(s_connectionId, _connectionId);
        writer.WriteString(s_client, _client.Span);
        writer.WriteNumber(s_messages, _messages);
        writer.WriteString(s_queueId, _queueId.Span);
        writer.WriteString(s_verdict, _verdict);
        writer.WriteNumber(s_durationMs, _durationMs);
    }

    public ReadOnlySpan<byte> GetParameterKey(int index) => index switch
    {
        0 => "connectionId"u8,
        1 => "client"u8,
        2 => "messages"u8,
        3 => "queueId"u8,
        4 => "verdict"u8,
        5 => "durationMs"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public string GetParameterKeyAsString(int index) => index switch
    {
        0 => "connectionId",
        1 => "client",
        2 => "messages",
        3 => "queueId",
        4 => "verdict",
        5 => "durationMs",
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    // For structured sinks only (the daemon's text log never asks): the byte values become strings here.
    public object GetParameterValue(int index) => index switch
    {
        0 => _connectionId,
        1 => _client.ToString(),
        2 => _messages,
        3 => _queueId.ToString(),
        4 => _verdict,
        5 => _durationMs,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public T GetParameterValue<T>(int index) => (T)GetParameterValue(index);

    public Type GetParameterType(int index) => index switch
    {
        0 => typeof(long),
        1 or 3 or 4 => typeof(string),
        2 => typeof(int),
        5 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static void WriteNumber(IBufferWriter<byte> writer, Span<byte> scratch, long value)
    {
        Utf8Formatter.TryFormat(value, scratch, out int written);
        writer.Write(scratch[..written]);
    }

    /// <summary>
    /// Up to 64 bytes of a value, by value (longer ones end in "..."), escaped as <see cref="LogText"/> does: the
    /// client's name and the queue id come from the MTA and the SMTP client, and a CR or LF in them would start a
    /// forged line. "-" when empty.
    /// </summary>
    private readonly struct LogBytes : ISpanFormattable
    {
        private const int Shown = 64;
        private const int Capacity = (Shown * 4) + 32;
        private readonly Buffer _bytes;
        private readonly ushort _length;

        public LogBytes(ReadOnlySpan<byte> value)
        {
            Span<byte> bytes = _bytes;
            if (value.IsEmpty)
            {
                bytes[0] = (byte)'-';
                _length = 1;
            }
            else if (value.Length <= Shown)
            {
                _length = (ushort)LogText.Escape(value, bytes);
            }
            else
            {
                int length = LogText.Escape(value[..(Shown - 3)], bytes);
                "..."u8.CopyTo(bytes[length..]);
                _length = (ushort)(length + 3);
            }
        }

        [UnscopedRef]
        public ReadOnlySpan<byte> Span => ((ReadOnlySpan<byte>)_bytes)[.._length];

        public override string ToString() => Encoding.UTF8.GetString(Span);

        public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
            => Encoding.UTF8.TryGetChars(Span, destination, out charsWritten);

        [InlineArray(Capacity)]
        private struct Buffer
        {
            private byte _first;
        }
    }
}
