namespace AotMilter.Protocol;

/// <summary>
/// The macros of one connection, one set per stage, as libmilter keeps them: storing a stage replaces that stage's
/// set and clears every later stage, and a look-up searches from the latest stage back to connect. So connect and
/// HELO macros live for the whole connection, MAIL macros for one message, RCPT macros for one recipient.
/// Storage is reused: after warm-up, storing and looking up allocate nothing.
/// </summary>
public sealed class MacroStore
{
    // Chronological order of the stages; MacroStage numbers differ (EOM=5 < EOH=6 on the wire).
    private static ReadOnlySpan<byte> Chronological => [0, 1, 2, 3, 4, 6, 5];

    /// <summary>
    /// The most bytes (names and values) one stage may hold. MTAs send a few hundred bytes per stage; the bound keeps
    /// a peer from parking megabytes per connection in macro frames, which are accepted up to the packet size.
    /// </summary>
    public const int MaxStageBytes = 64 * 1024;

    /// <summary>The most macros one stage may hold.</summary>
    public const int MaxStageEntries = 512;

    /// <summary>A stage's working size: storage beyond it is reserved from <see cref="Budget"/> and given back when the connection ends.</summary>
    public const int WorkingStageBytes = 4096;

    private readonly MacroSet[] _sets = new MacroSet[7];

    public MacroStore()
    {
        for (int i = 0; i < _sets.Length; i++)
        {
            _sets[i] = new MacroSet(this);
        }
    }

    /// <summary>Where storage beyond each stage's working size is reserved (null: nowhere, bounded by <see cref="MaxStageBytes"/> only).</summary>
    public IMemoryReservation? Budget { get; set; }

    /// <summary>Maps a macro command's stage letter to its slot; false for letters that have none (Postfix's U).</summary>
    public static bool TryGetStage(byte letter, out MacroStage stage)
    {
        switch (letter)
        {
            case (byte)'C': stage = MacroStage.Connect; return true;
            case (byte)'H': stage = MacroStage.Helo; return true;
            case (byte)'M': stage = MacroStage.MailFrom; return true;
            case (byte)'R': stage = MacroStage.RcptTo; return true;
            case (byte)'T': stage = MacroStage.Data; return true;
            case (byte)'N': stage = MacroStage.EndOfHeaders; return true;
            case (byte)'E': stage = MacroStage.EndOfMessage; return true;

            // Postfix sends the end-of-headers list before every header and the end-of-message list before every
            // body chunk; keeping them lets header and body callbacks read the macros they ask for.
            case (byte)'L': stage = MacroStage.EndOfHeaders; return true;
            case (byte)'B': stage = MacroStage.EndOfMessage; return true;
            default: stage = default; return false;
        }
    }

    /// <summary>Stores the pairs of a macro command. Letters without a slot are ignored, as libmilter does.</summary>
    public void Store(MacroReader reader)
    {
        if (!TryGetStage(reader.Stage, out MacroStage stage))
        {
            return;
        }

        ClearFrom(stage);
        MacroSet set = _sets[(int)stage];
        while (reader.MoveNext())
        {
            if (!set.TryAdd(reader.Name, reader.Value, out bool overBudget))
            {
                set.Clear();
                MilterProtocolException.Throw(MilterProtocolError.MacrosTooLarge, overBudget
                    ? $"the macros of stage '{(char)reader.Stage}' do not fit the daemon's memory budget"
                    : $"the macros of stage '{(char)reader.Stage}' exceed {MaxStageBytes} bytes");
            }
        }
    }

    /// <summary>Clears <paramref name="stage"/> and every stage after it.</summary>
    public void ClearFrom(MacroStage stage)
    {
        int position = Chronological.IndexOf((byte)stage);
        for (int i = position; i < Chronological.Length; i++)
        {
            _sets[Chronological[i]].Clear();
        }
    }

    /// <summary>
    /// Clears every stage after <paramref name="stage"/>. libmilter does this when the command of a stage arrives
    /// (connect, HELO, MAIL, RCPT), so macros of an earlier message never show through when the MTA sends no macros
    /// for a stage.
    /// </summary>
    public void ClearAfter(MacroStage stage)
    {
        int position = Chronological.IndexOf((byte)stage);
        for (int i = position + 1; i < Chronological.Length; i++)
        {
            _sets[Chronological[i]].Clear();
        }
    }

    /// <summary>Clears every stage (a new SMTP connection on a reused milter connection).</summary>
    public void Clear() => ClearFrom(MacroStage.Connect);

    /// <summary>Clears every stage and gives back buffers grown past their working size (the connection ended).</summary>
    public void Release()
    {
        foreach (MacroSet set in _sets)
        {
            set.Release();
        }
    }

    /// <summary>Looks a macro up by name; <c>x</c> and <c>{x}</c> are the same macro.</summary>
    public bool TryGet(ReadOnlySpan<char> name, out ReadOnlySpan<byte> value)
    {
        name = StripBraces(name);
        for (int i = Chronological.Length - 1; i >= 0; i--)
        {
            if (_sets[Chronological[i]].TryGet(name, out value))
            {
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Looks a macro up in one stage only.</summary>
    public bool TryGet(MacroStage stage, ReadOnlySpan<char> name, out ReadOnlySpan<byte> value)
        => _sets[(int)stage].TryGet(StripBraces(name), out value);

    /// <summary>The number of macros stored for a stage.</summary>
    public int Count(MacroStage stage) => _sets[(int)stage].Count;

    /// <summary>The macro at <paramref name="index"/> of a stage, for listing (the log filter).</summary>
    public void GetAt(MacroStage stage, int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        => _sets[(int)stage].GetAt(index, out name, out value);

    internal static ReadOnlySpan<char> StripBraces(ReadOnlySpan<char> name)
        => name.Length >= 2 && name[0] == '{' && name[^1] == '}' ? name[1..^1] : name;

    internal static ReadOnlySpan<byte> StripBraces(ReadOnlySpan<byte> name)
        => name.Length >= 2 && name[0] == (byte)'{' && name[^1] == (byte)'}' ? name[1..^1] : name;

    private sealed class MacroSet(MacroStore store)
    {
        // Allocated on first use: most stages of most connections never carry a macro, and seven sets of buffers up
        // front were a quarter of what a connection allocates.
        private byte[] _data = [];
        private Entry[] _entries = [];
        private int _used;
        private long _reserved;

        public int Count { get; private set; }

        public void Clear()
        {
            Count = 0;
            _used = 0;
        }

        public void Release()
        {
            Clear();
            if (_data.Length > WorkingStageBytes)
            {
                _data = [];
            }

            if (_entries.Length > 64)
            {
                _entries = [];
            }

            store.Budget?.Release(_reserved);
            _reserved = 0;
        }

        public bool TryAdd(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out bool overBudget)
        {
            overBudget = false;
            int needed = _used + name.Length + value.Length;

            // Empty pairs cost an entry each: bound their number too (an MTA sends a few dozen per stage).
            if (needed > MaxStageBytes || Count >= MaxStageEntries)
            {
                return false;
            }

            if (needed > _data.Length)
            {
                int size = Math.Min(MaxStageBytes, Math.Max(needed, Math.Max(256, _data.Length * 2)));
                long beyond = Math.Max(0, size - WorkingStageBytes) - _reserved;
                if (beyond > 0)
                {
                    if (store.Budget is { } budget && !budget.TryReserve(beyond))
                    {
                        overBudget = true;
                        return false;
                    }

                    _reserved += beyond;
                }

                Array.Resize(ref _data, size);
            }

            if (Count == _entries.Length)
            {
                Array.Resize(ref _entries, Math.Max(8, _entries.Length * 2));
            }

            name.CopyTo(_data.AsSpan(_used));
            value.CopyTo(_data.AsSpan(_used + name.Length));
            _entries[Count++] = new Entry(_used, name.Length, value.Length);
            _used = needed;
            return true;
        }

        public bool TryGet(ReadOnlySpan<char> name, out ReadOnlySpan<byte> value)
        {
            // Later entries win: an MTA that repeats a name means the newer value.
            for (int i = Count - 1; i >= 0; i--)
            {
                Entry e = _entries[i];
                ReadOnlySpan<byte> stored = StripBraces(_data.AsSpan(e.Start, e.NameLength));
                if (AsciiEquals(stored, name))
                {
                    value = _data.AsSpan(e.Start + e.NameLength, e.ValueLength);
                    return true;
                }
            }

            value = default;
            return false;
        }

        public void GetAt(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            Entry e = _entries[index];
            name = _data.AsSpan(e.Start, e.NameLength);
            value = _data.AsSpan(e.Start + e.NameLength, e.ValueLength);
        }

        private static bool AsciiEquals(ReadOnlySpan<byte> bytes, ReadOnlySpan<char> chars)
        {
            if (bytes.Length != chars.Length)
            {
                return false;
            }

            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != chars[i])
                {
                    return false;
                }
            }

            return true;
        }

        private readonly record struct Entry(int Start, int NameLength, int ValueLength);
    }
}
