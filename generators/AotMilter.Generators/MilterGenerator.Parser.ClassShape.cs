namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        private static string? FindClassProblem(INamedTypeSymbol type)
        {
            if (type.IsStatic)
            {
                return "it is static";
            }

            if (type.IsAbstract)
            {
                return "it is abstract";
            }

            if (type.TypeParameters.Length > 0)
            {
                return "it is generic";
            }

            if (type.IsFileLocal)
            {
                return "it is file-local";
            }

            if (!IsAccessible(type.DeclaredAccessibility))
            {
                return "it is " + AccessibilityDisplay(type.DeclaredAccessibility) + "; it must be public or internal";
            }

            for (INamedTypeSymbol? outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.TypeParameters.Length > 0)
                {
                    return "it is nested in the generic type '" + outer.ToDisplayString(FilterSymbols.TypeNameFormat) + "'";
                }

                if (!IsAccessible(outer.DeclaredAccessibility))
                {
                    return "it is nested in '" + outer.ToDisplayString(FilterSymbols.TypeNameFormat) + "', which is " + AccessibilityDisplay(outer.DeclaredAccessibility);
                }
            }

            return null;
        }

        /// <summary>
        /// The constructor the dispatcher calls: one that takes only the filter's settings (a class T implementing
        /// IFilterSettings&lt;T&gt;), else one that needs no arguments. False, with the reason, when there is neither.
        /// </summary>
        private static bool FindConstructor(INamedTypeSymbol type, KnownTypes known, out string? settingsType, out string problem)
        {
            settingsType = null;
            problem = "";
            var settingsTypes = new List<ITypeSymbol>();
            bool parameterless = false;
            foreach (IMethodSymbol constructor in type.InstanceConstructors)
            {
                if (!IsAccessible(constructor.DeclaredAccessibility))
                {
                    continue;
                }

                if (constructor.Parameters.Length == 1
                    && constructor.Parameters[0] is { RefKind: RefKind.None, IsParams: false } only
                    && known.IsSettingsType(only.Type))
                {
                    settingsTypes.Add(only.Type);
                }
                else if (constructor.Parameters.All(static p => p.IsOptional || p.IsParams))
                {
                    parameterless = true;
                }
            }

            if (settingsTypes.Count == 1)
            {
                settingsType = settingsTypes[0].ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
                return true;
            }

            if (settingsTypes.Count > 1)
            {
                problem = "; it has " + settingsTypes.Count + " settings constructors ("
                    + string.Join(", ", settingsTypes.Select(static t => t.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)))
                    + "), keep one";
                return false;
            }

            return parameterless;
        }

        private static string? FindMethodProblem(IMethodSymbol method)
        {
            var problems = new List<string>();
            switch (method.MethodKind)
            {
                case MethodKind.Ordinary:
                    break;
                case MethodKind.ExplicitInterfaceImplementation:
                    problems.Add("an explicit interface implementation");
                    break;
                case MethodKind.PropertyGet or MethodKind.PropertySet or MethodKind.EventAdd or MethodKind.EventRemove or MethodKind.EventRaise:
                    problems.Add("an accessor");
                    break;
                default:
                    problems.Add("not an ordinary method");
                    break;
            }

            if (method.MethodKind == MethodKind.Ordinary && !IsAccessible(method.DeclaredAccessibility))
            {
                problems.Add(AccessibilityDisplay(method.DeclaredAccessibility));
            }

            if (method.IsStatic)
            {
                problems.Add("static");
            }

            if (method.IsGenericMethod)
            {
                problems.Add("generic");
            }

            return problems.Count == 0 ? null : string.Join(" and ", problems);
        }

        private static bool IsAccessible(Accessibility accessibility)
            => accessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal;

        private static string AccessibilityDisplay(Accessibility accessibility) => accessibility switch
        {
            Accessibility.Private => "private",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedAndInternal => "private protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.Internal => "internal",
            Accessibility.Public => "public",
            _ => "inaccessible",
        };
    }
}
