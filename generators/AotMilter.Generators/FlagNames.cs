using System.Text;
using AotMilter.Protocol;

namespace AotMilter.Generators;

/// <summary>The comment the emitter writes beside a registration's flag constants: "NoConnect | NoHelo", or "None".</summary>
internal static class FlagNames
{
    private static readonly KeyValuePair<uint, string>[] s_protocol = SingleBits(typeof(ProtocolFlags));

    private static readonly KeyValuePair<uint, string>[] s_actions = SingleBits(typeof(ActionFlags));

    public static string DescribeProtocol(uint bits) => Describe(bits, s_protocol);

    public static string DescribeActions(uint bits) => Describe(bits, s_actions);

    /// <summary>
    /// The members that are one bit, in value order. Composites (AllSkips, AllVersion6) are left out so a comment
    /// always lists the bits themselves, as Enum.ToString would not.
    /// </summary>
    private static KeyValuePair<uint, string>[] SingleBits(Type flags)
    {
        var bits = new List<KeyValuePair<uint, string>>();
        foreach (object value in Enum.GetValues(flags))
        {
            uint bit = Convert.ToUInt32(value, System.Globalization.CultureInfo.InvariantCulture);
            if (bit != 0 && (bit & (bit - 1)) == 0)
            {
                bits.Add(new KeyValuePair<uint, string>(bit, Enum.GetName(flags, value)!));
            }
        }

        bits.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return bits.ToArray();
    }

    private static string Describe(uint bits, KeyValuePair<uint, string>[] names)
    {
        if (bits == 0)
        {
            return "None";
        }

        var text = new StringBuilder();
        foreach (KeyValuePair<uint, string> name in names)
        {
            if ((bits & name.Key) != 0)
            {
                if (text.Length > 0)
                {
                    text.Append(" | ");
                }

                text.Append(name.Value);
                bits &= ~name.Key;
            }
        }

        if (bits != 0)
        {
            if (text.Length > 0)
            {
                text.Append(" | ");
            }

            text.Append("0x").Append(bits.ToString("X", System.Globalization.CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}
