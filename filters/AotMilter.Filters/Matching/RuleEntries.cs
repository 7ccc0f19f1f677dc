using AotMilter.Configuration;

namespace AotMilter.Filters.Matching;

/// <summary>
/// Settings whose lines are rules named by their key (<c>sender = ...</c>, <c>client = ...</c>): each entry whose key
/// names a subject is parsed into a rule, in file order; other keys are the section's plain settings.
/// </summary>
public static class RuleEntries
{
    /// <summary>
    /// Checks the section's keys against <paramref name="keys"/>, then parses every entry whose key is in
    /// <paramref name="subjects"/> with <paramref name="parse"/> (which reports its own errors and returns null then).
    /// </summary>
    public static List<TRule> Parse<TSubject, TRule>(
        ConfigSection section, string[] keys, IReadOnlyDictionary<string, TSubject> subjects, Func<ConfigSection, ConfigEntry, TSubject, TRule?> parse)
        where TRule : class
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(subjects);
        ArgumentNullException.ThrowIfNull(parse);
        section.CheckKeys(keys);
        var rules = new List<TRule>();
        foreach (ConfigEntry entry in section.Entries)
        {
            if (subjects.TryGetValue(entry.Key, out TSubject? subject) && parse(section, entry, subject) is TRule rule)
            {
                rules.Add(rule);
            }
        }

        return rules;
    }
}
