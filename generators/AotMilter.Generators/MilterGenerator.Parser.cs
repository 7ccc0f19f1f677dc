using AotMilter.Protocol;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    /// <summary>
    /// Symbols in, models out. Nothing here keeps a symbol, syntax node or compilation past its return. This part reads
    /// one [Milter] class; the others, by job: Callbacks (methods and their parameters), Negotiation (the flags and
    /// macros the code implies), ClassShape (whether the class can be instantiated), Catalog (the assembly's and the
    /// executable's lists), Names (identifiers and file names).
    /// </summary>
    internal static partial class Parser
    {
        private const int CallbackCount = 12;

        public static FilterParseResult ParseFilter(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            var type = (INamedTypeSymbol)context.TargetSymbol;
            var known = new KnownTypes(context.SemanticModel.Compilation);
            var diagnostics = new List<DiagnosticInfo>();
            string typeName = type.ToDisplayString(FilterSymbols.TypeNameFormat);
            LocationInfo? classLocation = context.TargetNode is BaseTypeDeclarationSyntax declaration
                ? LocationInfo.From(declaration.Identifier.GetLocation())
                : LocationInfo.From(type);
            bool blocked = false;

            // [Milter("name", Description = "...", RejectedRecipients = true, RawHeaderValues = true)]
            AttributeData attribute = context.Attributes[0];
            string? name = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
            string? description = null;
            bool rejectedRecipients = false;
            bool rawHeaderValues = false;
            foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
            {
                switch (argument.Key)
                {
                    case "Description":
                        description = argument.Value.Value as string;
                        break;
                    case "RejectedRecipients":
                        rejectedRecipients = argument.Value.Value is true;
                        break;
                    case "RawHeaderValues":
                        rawHeaderValues = argument.Value.Value is true;
                        break;
                }
            }

            if (!IsValidFilterName(name))
            {
                blocked = true;

                // [Milter] without an argument already fails to compile (CS7036): one error is enough.
                if (attribute.AttributeConstructor is not null)
                {
                    LocationInfo? at = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken)) ?? classLocation;
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidFilterName, at, name ?? "", typeName));
                }
            }

            string? settingsType = null;
            string? classProblem = FindClassProblem(type);
            if (classProblem is not null)
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedFilterClass, classLocation, typeName, classProblem));
            }
            else if (!FindConstructor(type, known, out settingsType, out string constructorProblem))
            {
                blocked = true;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoParameterlessConstructor, classLocation, typeName, constructorProblem));
            }

            // The callbacks, bound by attribute.
            var callbacks = new CallbackModel?[CallbackCount];
            var methods = new IMethodSymbol?[CallbackCount];
            var macroReads = new List<MacroRead>();
            foreach (ISymbol member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member is not IMethodSymbol method)
                {
                    continue;
                }

                foreach (AttributeData methodAttribute in method.GetAttributes())
                {
                    int index = known.CallbackIndex(methodAttribute.AttributeClass);
                    if (index < 0)
                    {
                        continue;
                    }

                    var kind = (MilterEvent)index;
                    CallbackModel? callback = ParseCallback(method, kind, known, macroReads, diagnostics);
                    if (methods[index] is { } first)
                    {
                        blocked = true;
                        diagnostics.Add(DiagnosticInfo.Create(
                            DiagnosticDescriptors.DuplicateCallback,
                            LocationInfo.From(method),
                            typeName,
                            FilterSymbols.AttributeDisplay(kind),
                            first.Name,
                            method.Name));
                        continue;
                    }

                    methods[index] = method;
                    if (callback is null)
                    {
                        blocked = true;
                    }

                    callbacks[index] = callback;
                }
            }

            CheckMacrosOnBothMtas(macroReads, diagnostics);
            if (rejectedRecipients && methods[(int)MilterEvent.RcptTo] is null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.RejectedRecipientsWithoutRcpt, classLocation, typeName));
                rejectedRecipients = false;
            }

            uint actions = ScanEditorUse(type, typeName, known, context.SemanticModel, diagnostics, cancellationToken);
            EquatableArray<DiagnosticInfo> reported = diagnostics.Distinct().ToEquatableArray();
            if (blocked)
            {
                return new FilterParseResult(null, classLocation, reported);
            }

            IMethodSymbol? body = methods[(int)MilterEvent.Body];
            bool bodySkips = body is not null
                && callbacks[(int)MilterEvent.Body] is { Observes: false }
                && ReachesSkip(body, known, context.SemanticModel, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default), cancellationToken);

            string sanitized = SanitizeIdentifier(typeName);
            string hint = SanitizeHintName(typeName);
            if (hint != typeName)
            {
                // Characters were replaced: a hash of the real name keeps two such names from colliding.
                string hash = StableHash(typeName);
                sanitized += "_" + hash;
                hint += "_" + hash;
            }

            uint protocol = DeriveProtocol(callbacks, bodySkips)
                | (rejectedRecipients ? (uint)ProtocolFlags.RejectedRecipients : 0)
                | (rawHeaderValues ? (uint)ProtocolFlags.HeaderLeadingSpace : 0);
            var filter = new FilterModel(
                name!,
                description,
                typeName,
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                type.Name + "Dispatcher",
                "Create_" + sanitized,
                hint + ".Milter.g.cs",
                callbacks.Where(static c => c is not null).Select(static c => c!).ToEquatableArray(),
                protocol,
                actions,
                CollectMacros(callbacks),
                settingsType,
                known.ResettableFilter is { } resettable && type.AllInterfaces.Contains(resettable, SymbolEqualityComparer.Default));
            return new FilterParseResult(filter, classLocation, reported);
        }

        /// <summary>A callback attribute on a method whose class has no [Milter] (or on a local function).</summary>
        public static EquatableArray<DiagnosticInfo> ParseOrphanCallback(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not IMethodSymbol method)
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            LocationInfo? location = LocationInfo.From(method);
            if (method.MethodKind == MethodKind.LocalFunction)
            {
                return new EquatableArray<DiagnosticInfo>(
                [
                    DiagnosticInfo.Create(DiagnosticDescriptors.InaccessibleCallback, location, method.Name, "a local function"),
                ]);
            }

            INamedTypeSymbol? type = method.ContainingType;
            if (type is null || FilterSymbols.IsFilter(type))
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            string attribute = context.Attributes[0].AttributeClass?.Name ?? "callback";
            if (attribute.EndsWith("Attribute", StringComparison.Ordinal))
            {
                attribute = attribute.Substring(0, attribute.Length - "Attribute".Length);
            }

            return new EquatableArray<DiagnosticInfo>(
            [
                DiagnosticInfo.Create(DiagnosticDescriptors.CallbackOutsideFilter, location, method.Name, attribute, type.ToDisplayString(FilterSymbols.TypeNameFormat)),
            ]);
        }
    }
}
