namespace AotMilter.Filters.Scanning;

/// <summary>
/// How many fields of each watched name a message has, so that a scanner's header can replace every copy the
/// sender put there (change the first, delete the rest) instead of standing beside a forged one. Watches the names
/// given, or every name that starts with a prefix (<c>X-Spam-</c>), up to <see cref="MaxNames"/> names.
/// </summary>
public sealed class HeaderCounts
{
    /// <summary>Distinct names counted at most (a message with more is counted for the first ones only).</summary>
    public const int MaxNames = 64;

    private readonly Dictionary<string, int> _counts = new(StringComparer.OrdinalIgnoreCase);
    private readonly string[] _names;
    private readonly string? _prefix;

    public HeaderCounts(string[] names, string? prefix = null)
    {
        _names = names;
        _prefix = prefix;
    }

    /// <summary>Counts <paramref name="header"/> when its name is watched.</summary>
    public void Count(HeaderField header)
    {
        foreach (string name in _names)
        {
            if (header.NameIs(name))
            {
                Add(name);
                return;
            }
        }

        if (_prefix is not null && header.Name.Length > _prefix.Length && StartsWithPrefix(header.Name))
        {
            Add(header.NameString());
        }
    }

    /// <summary>How many fields named <paramref name="name"/> the message has (0 when none, or not watched).</summary>
    public int Of(string name) => _counts.TryGetValue(name, out int n) ? n : 0;

    /// <summary>Every counted name (in no particular order).</summary>
    public IEnumerable<string> Names => _counts.Keys;

    public void Reset() => _counts.Clear();

    private bool StartsWithPrefix(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < _prefix!.Length; i++)
        {
            if (char.ToLowerInvariant((char)name[i]) != char.ToLowerInvariant(_prefix[i]))
            {
                return false;
            }
        }

        return true;
    }

    private void Add(string name)
    {
        if (_counts.TryGetValue(name, out int n))
        {
            _counts[name] = n + 1;
        }
        else if (_counts.Count < MaxNames)
        {
            _counts[name] = 1;
        }
    }
}
