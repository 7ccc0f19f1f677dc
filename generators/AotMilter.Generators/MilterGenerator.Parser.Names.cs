using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        /// <summary>Lower-case letters, digits, '-' and '_', starting with a letter.</summary>
        internal static bool IsValidFilterName(string? name)
        {
            if (name is null || name.Length == 0 || name[0] < 'a' || name[0] > 'z')
            {
                return false;
            }

            foreach (char c in name)
            {
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>"My.Filters-2" → "My_Filters_2": a valid identifier made of ASCII letters, digits and '_'.</summary>
        internal static string SanitizeIdentifier(string text)
        {
            var result = new StringBuilder(text.Length + 1);
            foreach (char c in text)
            {
                result.Append(IsAsciiLetterOrDigit(c) ? c : '_');
            }

            if (result.Length == 0 || (result[0] >= '0' && result[0] <= '9'))
            {
                result.Insert(0, '_');
            }

            return result.ToString();
        }

        private static string SanitizeHintName(string typeName)
        {
            var result = new StringBuilder(typeName.Length);
            foreach (char c in typeName)
            {
                result.Append(IsAsciiLetterOrDigit(c) || c == '.' ? c : '_');
            }

            return result.ToString();
        }

        /// <summary>FNV-1a over the UTF-16 code units, as 8 hex digits: the same on every machine and run.</summary>
        private static string StableHash(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text)
            {
                hash = unchecked((hash ^ c) * 16777619);
            }

            return hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        }

        private static bool IsAsciiLetterOrDigit(char c)
            => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';

        private static string EscapeIdentifier(string name)
            => SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
