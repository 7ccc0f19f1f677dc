using System.Text.RegularExpressions;
using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// Regular expressions from the configuration file. Patterns are only known at run time, so they are built with the
/// constructor when the settings are read (the source generator cannot help), always with
/// <see cref="RegexOptions.NonBacktracking"/>: matching time is linear in the input whatever the pattern, so a
/// pattern written in a hurry cannot be turned into a denial of service by a crafted message (ReDoS). That engine has
/// no backreferences, lookarounds or atomic groups; a pattern that uses them is reported when the file is read.
/// </summary>
public static class SafeRegex
{
    public static bool TryCreate(ConfigWord word, out Regex? regex, out string? error)
    {
        RegexOptions options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
        foreach (char flag in word.Flags)
        {
            options |= flag switch
            {
                'i' => RegexOptions.IgnoreCase,
                'm' => RegexOptions.Multiline,
                's' => RegexOptions.Singleline,
                'x' => RegexOptions.IgnorePatternWhitespace,
                _ => RegexOptions.None,
            };
        }

        try
        {
            regex = new Regex(word.Text, options);
            error = null;
            return true;
        }
        catch (NotSupportedException ex)
        {
            regex = null;
            error = $"/{word.Text}/ uses a construct the linear-time regex engine does not support (backreferences, lookarounds, atomic groups): {ex.Message}";
            return false;
        }
        catch (ArgumentException ex)
        {
            regex = null;
            error = $"/{word.Text}/ is not a valid regular expression: {ex.Message}";
            return false;
        }
    }
}
