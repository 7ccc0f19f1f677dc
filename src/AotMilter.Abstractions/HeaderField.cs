using System.Text;
using AotMilter.Protocol;

namespace AotMilter;

/// <summary>
/// One header field as the MTA sends it: the parsed header command, seen from a filter. Spans point into the receive
/// buffer: valid during the call.
/// </summary>
public readonly ref struct HeaderField
{
    private readonly HeaderCommand _command;

    public HeaderField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        : this(new HeaderCommand(name, value))
    {
    }

    public HeaderField(HeaderCommand command) => _command = command;

    public ReadOnlySpan<byte> Name => _command.Name;

    /// <summary>
    /// The value. The MTA removes one leading space unless the filter asked for raw values; folded values contain
    /// LF followed by white space.
    /// </summary>
    public ReadOnlySpan<byte> Value => _command.Value;

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
