using System.Text;

namespace AotMilter;

/// <summary>One header field as the MTA sends it. Spans point into the receive buffer: valid during the call.</summary>
public readonly ref struct HeaderField
{
    public HeaderField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Name = name;
        Value = value;
    }

    public ReadOnlySpan<byte> Name { get; }

    /// <summary>
    /// The value. The MTA removes one leading space unless the filter asked for raw values; folded values contain
    /// LF followed by white space.
    /// </summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>True when the field's name is <paramref name="name"/>, ignoring ASCII case.</summary>
    public bool NameIs(ReadOnlySpan<char> name)
    {
        if (Name.Length != name.Length)
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            if (char.ToLowerInvariant((char)Name[i]) != char.ToLowerInvariant(name[i]))
            {
                return false;
            }
        }

        return true;
    }

    public string NameString() => Encoding.UTF8.GetString(Name);

    public string ValueString() => Encoding.UTF8.GetString(Value);
}
