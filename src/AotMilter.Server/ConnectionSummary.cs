using System.Buffers;
using System.Buffers.Text;
using System.Collections;
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

    /// <summary>
    /// Entries made ready once the server accepts connections: a backlog of this many lines needs no new one (about
    /// 300 bytes each).
    /// </summary>
    internal const int PrefilledEntries = 1024;

    private static int s_prefilled;

    /// <summary>
    /// Fills ZLogger's pool of entries for this line (each line waiting for the writer holds one; the pool keeps them
    /// after) with <see cref="PrefilledEntries"/>, once per process (the pool is static: a second server in the same
    /// process, a test host's, say, finds it filled), so that the backlogs of a busy daemon are served from the pool
    /// from the first connection on, instead of the pool growing, an entry at a time, to the deepest backlog yet seen
    /// while mail flows.
    /// </summary>
    internal static void PrefillEntryPool()
    {
        if (Interlocked.Exchange(ref s_prefilled, 1) != 0)
        {
            return;
        }

        var entries = new ZLoggerEntry<ConnectionSummary>[PrefilledEntries];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = ZLoggerEntry<ConnectionSummary>.Create(default, default);
        }

        foreach (ZLoggerEntry<ConnectionSummary> entry in entries)
        {
            entry.Return();
        }
    }

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"conn={_connectionId} client={_client} messages={_messages} queue_id={_queueId} verdict={_verdict} duration_ms={_durationMs:F1}");

    public void ToString(IBufferWriter<byte> writer)
    {
        Span<byte> number = stackalloc byte[32];
        Span<byte> escaped = stackalloc byte[LogBytes.EscapedCapacity];
        writer.Write("conn="u8);
        WriteNumber(writer, number, _connectionId);
        writer.Write(" client="u8);
        writer.Write(_client.Escape(escaped));
        writer.Write(" messages="u8);
        WriteNumber(writer, number, _messages);
        writer.Write(" queue_id="u8);
        writer.Write(_queueId.Escape(escaped));
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
        Span<byte> escaped = stackalloc byte[LogBytes.EscapedCapacity];
        writer.WriteNumber(s_connectionId, _connectionId);
        writer.WriteString(s_client, _client.Escape(escaped));
        writer.WriteNumber(s_messages, _messages);
        writer.WriteString(s_queueId, _queueId.Escape(escaped));
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
    /// Up to 64 bytes of a value, by value (longer ones end in "..."), escaped as <see cref="LogText"/> does when the
    /// line is written: the client's name and the queue id come from the MTA and the SMTP client, and a CR or LF in
    /// them would start a forged line. "-" when empty. The raw bytes are kept rather than their escaped form (up to
    /// four times as long): each line waiting for the log writer holds this state, and so does each pooled entry.
    /// </summary>
    private readonly struct LogBytes : ISpanFormattable
    {
        /// <summary>Room for the shown bytes escaped (each can become four, "\xHH"), with the "..." of a longer value.</summary>
        public const int EscapedCapacity = (Shown * 4) + 32;

        private const int Shown = 64;
        private readonly Buffer _raw;
        private readonly byte _length;
        private readonly bool _cut;

        public LogBytes(ReadOnlySpan<byte> value)
        {
            _cut = value.Length > Shown;
            ReadOnlySpan<byte> kept = _cut ? value[..(Shown - 3)] : value;
            kept.CopyTo(_raw);
            _length = (byte)kept.Length;
        }

        /// <summary>The value as the line shows it, written into <paramref name="scratch"/> (<see cref="EscapedCapacity"/> bytes).</summary>
        public ReadOnlySpan<byte> Escape(Span<byte> scratch)
        {
            ReadOnlySpan<byte> raw = ((ReadOnlySpan<byte>)_raw)[.._length];
            if (raw.IsEmpty && !_cut)
            {
                scratch[0] = (byte)'-';
                return scratch[..1];
            }

            int length = LogText.Escape(raw, scratch);
            if (_cut)
            {
                "..."u8.CopyTo(scratch[length..]);
                length += 3;
            }

            return scratch[..length];
        }

        public override string ToString()
        {
            Span<byte> scratch = stackalloc byte[EscapedCapacity];
            return Encoding.UTF8.GetString(Escape(scratch));
        }

        public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        {
            Span<byte> scratch = stackalloc byte[EscapedCapacity];
            return Encoding.UTF8.TryGetChars(Escape(scratch), destination, out charsWritten);
        }

        [InlineArray(Shown)]
        private struct Buffer
        {
            private byte _first;
        }
    }
}
